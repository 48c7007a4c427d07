"""A Redis out of memory, as ElastiCache with `maxmemory-policy noeviction` is when full: every
command that may add data answers `OOM command not allowed when used memory > 'maxmemory'`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis


@contextmanager
def out_of_memory(client: redis.Redis) -> Iterator[None]:
    """maxmemory below what Redis already uses (noeviction) for the block, then as before."""
    before = str(client.config_get("maxmemory")["maxmemory"])
    policy = str(client.config_get("maxmemory-policy")["maxmemory-policy"])
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", 1)
    try:
        yield
    finally:
        client.config_set("maxmemory", before)
        client.config_set("maxmemory-policy", policy)


def keyspace(url: str, match: str = "*") -> dict[bytes, tuple[bytes | None, bool]]:
    """Every key's serialized value (DUMP) and whether it has a TTL: equal snapshots, nothing
    written in between."""
    found: dict[bytes, tuple[bytes | None, bool]] = {}
    with redis.Redis.from_url(url) as raw:
        for key in raw.scan_iter(match=match, count=1000):
            found[key] = (raw.dump(key), int(raw.pttl(key)) >= 0)
    return found
