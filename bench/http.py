"""A tiny blocking JSON client for the harness's own sequential requests (warm-up, probes)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

# The bench's one API key (client `bench`, every scope): fixed, like its pepper, and no secret (the
# servers it starts are throwaway). bench/targets.py puts it in their keyring; every request of the
# harness, of mixed.py and of the wrk scripts (BENCH_API_KEY) carries it.
API_KEY = "ak_be0c000000000000.bench-key-not-a-secret-00000000000000000000"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def post_json(url: str, body: dict[str, Any], headers: dict[str, str] | None = None,
              timeout: float = 5.0) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 (loopback URLs built by the harness)
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", **AUTH, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), _json(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, _json(exc.read())


def _json(raw: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {"raw": raw[:200].decode(errors="replace")}
    return parsed if isinstance(parsed, dict) else {"value": parsed}


def benchmark_ip(n: int) -> str:
    """The n-th address of 198.18.0.0/15, as bench/lua/common.lua numbers them."""
    n %= 131072
    return f"198.{18 + n // 65536}.{(n // 256) % 256}.{n % 256}"
