"""Redis bytes a pending verification costs: MEMORY USAGE … SAMPLES 0 (every element counted) of
the keys one pending verification creates.

- Version 3: its record key `vfy3:{b…}:d:{client}:{dest_key}`, nothing else.
- Version 2: its record hash `vfy:ver:{id}` plus its pending index `vfy:pending:{client}:{dest}`.

That sum is `core_bytes`, the number held to the goal. The rate-limit counters (a destination
counter per new destination, IP counters, failed-check counters), the shared counters and the
conversion tally, and the outbox jobs (transient: until the dispatcher delivers them) are
reported apart. `per_verification` measures what a target wrote; `loaded_bytes` what the bench's
loader writes in each storage version, so the before/after shows in one run.
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from statistics import mean
from typing import Any

import redis

from bench import contract, loader

# Key kinds, by the contract's names (first match wins; Redis MATCH and fnmatch agree on these).
KINDS: tuple[tuple[str, str], ...] = (
    ("v3_record", contract.V3_RECORD_PATTERN),
    ("v3_failed_checks", contract.V3_FAILED_CHECKS_PATTERN),
    ("outbox", contract.V3_OUTBOX_PATTERN),
    ("v2_record", contract.V2_RECORD_PREFIX + "*"),
    ("v2_pending_index", "vfy:pending:*"),
    ("v2_failed_checks", "vfy:rl:fail:*"),
    ("dest_counter", contract.DEST_LIMIT_PREFIX + "*"),
    ("ip_counter", contract.IP_LIMIT_PREFIX + "*"),
    ("outbox", contract.V2_OUTBOX),
)
NOTE = ("core = the keys one pending verification creates (v3: its record; v2: record + pending "
        "index): the goal. Counters apart: one destination counter per new destination, IP "
        "counters amortised over the sends (each probe send came from its own IP, the worst "
        "case), failed-check counters per destination checked wrong; other shared keys "
        "(client, prefix and SMS counters, the conversion tally) amortised over the sends. "
        "Outbox jobs last until the dispatcher delivers them: transient, reported apart.")


def usage(client: redis.Redis, key: str) -> int:
    return int(client.memory_usage(key, samples=0) or 0)


def mean_usage(client: redis.Redis, keys: list[str]) -> float | None:
    sizes = [usage(client, key) for key in keys if client.exists(key)]
    return round(mean(sizes), 1) if sizes else None


def kind_of(key: str) -> str:
    return next((kind for kind, pattern in KINDS if fnmatch.fnmatchcase(key, pattern)), "other")


def _mean(sizes: list[int]) -> float | None:
    return round(mean(sizes), 1) if sizes else None


def core(version: int, sizes: dict[str, list[int]]) -> dict[str, Any]:
    """Mean bytes of each key a pending verification of `version` creates, and their sum."""
    if version == 3:
        record = _mean(sizes["v3_record"])
        return {"verifications": len(sizes["v3_record"]), "record_bytes": record,
                "pending_index_bytes": None, "core_bytes": record}
    record, index = _mean(sizes["v2_record"]), _mean(sizes["v2_pending_index"])
    total = None if record is None or index is None else round(record + index, 1)
    return {"verifications": len(sizes["v2_record"]), "record_bytes": record,
            "pending_index_bytes": index, "core_bytes": total}


def _sizes_by_kind(client: redis.Redis) -> dict[str, list[int]]:
    sizes: dict[str, list[int]] = defaultdict(list)
    for key in client.scan_iter(count=1000):
        sizes[kind_of(str(key))].append(usage(client, str(key)))
    return sizes


def _outbox_entries(client: redis.Redis) -> int:
    streams = [contract.V2_OUTBOX, *(contract.outbox_stream(b) for b in range(contract.BUCKETS))]
    return sum(int(client.xlen(s)) for s in streams if client.exists(s))


def per_verification(client: redis.Redis, *, sends: int) -> dict[str, Any]:
    """Bytes per key kind over every key in the database: call it on a Redis that holds only
    what the target wrote for `sends` sends of new destinations (and checks of them)."""
    sizes = _sizes_by_kind(client)
    by_version = {str(v): core(v, sizes) for v in (3, 2) if sizes[f"v{v}_record"]}
    if not by_version:
        return {"error": "no verification records written by the target were found"}
    # The version the target writes: the one it wrote most records in.
    written = max(by_version, key=lambda v: int(by_version[v]["verifications"]))
    outbox_jobs = _outbox_entries(client)
    per_send = max(sends, 1)
    return {
        "storage_version": int(written),
        **by_version[written],
        "dest_limit_counter_bytes": _mean(sizes["dest_counter"]),
        "ip_limit_counter_bytes_per_send": round(sum(sizes["ip_counter"]) / per_send, 1),
        "failed_checks_counter_bytes": _mean(sizes["v3_failed_checks"]
                                             + sizes["v2_failed_checks"]),
        "other_shared_bytes_per_send": round(sum(sizes["other"]) / per_send, 1),
        "outbox_bytes_per_job": round(sum(sizes["outbox"]) / outbox_jobs, 1)
        if outbox_jobs else None,
        "by_version": by_version,
        "note": NOTE,
    }


def loaded_bytes(client: redis.Redis, *, pepper: str, count: int, ttl_s: int,
                 retention_s: int) -> dict[str, Any]:
    """Load `count` pending verifications in each storage version into `client` (a Redis of
    the bench's own: it is FLUSHED) and measure the keys each creates; the database is left
    empty."""
    result: dict[str, Any] = {"verifications": count}
    for version in (2, 3):
        client.flushdb()
        loader.load_pending(client, pepper=pepper, start=0, count=count, ttl_s=ttl_s,
                            retention_s=retention_s, storage_version=version,
                            progress=lambda _: None)
        result[str(version)] = core(version, _sizes_by_kind(client))
    client.flushdb()
    return result
