"""Container health probe, used by the image's HEALTHCHECK and the ECS task definition.

`python healthcheck.py http://127.0.0.1:PORT/readyz`: healthy when the URL answers 200 (readyz is
200 only while Redis answers). `python healthcheck.py redis`: healthy when Redis answers PING;
for workers, which serve no HTTP and can do nothing without Redis. Exit 0 healthy, 1 not.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def probe_http(url: str) -> bool:
    if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise SystemExit(f"healthcheck: only local http URLs are probed, got {url!r}")
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 (checked above)
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def probe_redis() -> bool:
    import redis

    client = redis.Redis.from_url(
        os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        # ECS passes the user's password separately (the URL names the user); a URL that
        # carries a password wins over it.
        password=os.environ.get("REDIS_PASSWORD") or None,
        socket_timeout=3, socket_connect_timeout=3)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: healthcheck.py URL | redis", file=sys.stderr)
        return 2
    healthy = probe_redis() if argv[0] == "redis" else probe_http(argv[0])
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
