"""Redis bytes a pending verification costs, from MEMORY USAGE on the keys one send creates."""

from __future__ import annotations

from statistics import mean
from typing import Any

import redis

from bench import contract


def _usage(client: redis.Redis, key: str) -> int:
    return int(client.memory_usage(key, samples=0) or 0)


def mean_usage(client: redis.Redis, keys: list[str]) -> float | None:
    sizes = [_usage(client, key) for key in keys if client.exists(key)]
    return round(mean(sizes), 1) if sizes else None


def per_verification(client: redis.Redis, *, exclude_prefix: str, sends: int) -> dict[str, Any]:
    """Mean bytes per key kind over the records whose `to` does not start with exclude_prefix
    (so records the bench loaded itself are left out), plus the shared keys amortised."""
    records, pendings, dest_limits = [], [], []
    for key in client.scan_iter(match=contract.RECORD_PREFIX + "*", count=1000):
        to, dest_hash = client.hmget(key, ["to", "dest_hash"])
        if to is None or str(to).startswith(exclude_prefix):
            continue
        records.append(_usage(client, str(key)))
        pendings.append(_usage(client, contract.pending_key(contract.CLIENT, str(dest_hash))))
        dest_limits.append(_usage(client, contract.DEST_LIMIT_PREFIX + str(dest_hash)))
    if not records:
        return {"error": "no verification records written by the target were found"}
    ip_total = sum(_usage(client, str(k)) for k in
                   client.scan_iter(match=contract.IP_LIMIT_PREFIX + "*", count=1000))
    outbox_len = int(client.xlen(contract.OUTBOX)) if client.exists(contract.OUTBOX) else 0
    outbox = _usage(client, contract.OUTBOX) if outbox_len else 0
    core = mean(records) + mean(pendings)
    dest = mean(dest_limits)
    ip = ip_total / max(sends, 1)
    return {
        "verifications": len(records),
        "record_bytes": round(mean(records), 1),
        "pending_index_bytes": round(mean(pendings), 1),
        "core_bytes": round(core, 1),
        "dest_limit_counter_bytes": round(dest, 1),
        "ip_limit_counter_bytes_per_send": round(ip, 1),
        "with_limit_counters_bytes": round(core + dest + ip, 1),
        "outbox_bytes_per_job": round(outbox / outbox_len, 1) if outbox_len else None,
        "note": ("core = record + pending index (the goal). Counters: one destination counter per "
                 "new destination; IP counters amortised over the sends made (each probe send came "
                 "from its own IP, the worst case). Outbox jobs last until the dispatcher "
                 "delivers them, so they are transient and reported apart."),
    }
