"""The events both sides write, read back from the shared Redis for the fuzzer (fuzz.py).

Where (docs/storage-contract.md): version 2's `vfy:events` and version 3's 64 buckets
`vfy3:{b<n>}:events`. A cursor remembers the last entry of every stream; `new_events` returns
what was added since, across all of them, ordered by `occurred_at` (the Redis time of the
transition), then by stream entry id: one order whichever bucket an event landed in.
The contract is the only dependency: these names are spelled here, not imported from a side.
"""

from __future__ import annotations

import os
from typing import Any, cast

import redis
import redis.cluster

V2_EVENTS_STREAM = "vfy:events"
BUCKETS = 64
EVENTS_STREAMS = (V2_EVENTS_STREAM,
                  *(f"vfy3:{{b{bucket}}}:events" for bucket in range(BUCKETS)))


def events_client(url: str) -> redis.Redis:
    """A client of the shared Redis `url` names: with REDIS_CLUSTER=1 (the setting the sides
    share) a cluster client, which reads each bucket from its own node; else a node's client.
    (Typed as redis.Redis: a RedisCluster answers the same commands.)"""
    if os.environ.get("REDIS_CLUSTER", "").strip().lower() in ("1", "true", "yes"):
        return cast(redis.Redis, redis.cluster.RedisCluster.from_url(url, decode_responses=True))
    return redis.Redis.from_url(url, decode_responses=True)


def _entry_order(entry_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = entry_id.partition("-")
    return int(milliseconds), int(sequence or 0)


def _occurred_at(fields: dict[str, str]) -> int:
    value = fields.get("occurred_at", "")
    return int(value) if value.isdigit() else 0


class EventCursor:
    """New entries of every events stream since the cursor was made (or last read)."""

    def __init__(self, client: redis.Redis, streams: tuple[str, ...] = EVENTS_STREAMS) -> None:
        self.client = client
        self.streams = streams
        pipe = client.pipeline(transaction=False)
        for stream in streams:
            pipe.xrevrange(stream, count=1)
        self.last = {stream: str(last[0][0]) if last else "0-0"
                     for stream, last in zip(streams, pipe.execute(), strict=True)}

    def new_events(self) -> list[dict[str, str]]:
        pipe = self.client.pipeline(transaction=False)
        for stream in self.streams:
            pipe.xrange(stream, min=f"({self.last[stream]}", max="+")
        found: list[tuple[int, tuple[int, int], dict[str, str]]] = []
        for stream, entries in zip(self.streams, pipe.execute(), strict=True):
            batch: list[Any] = list(entries)
            if batch:
                self.last[stream] = str(batch[-1][0])
            found += [(_occurred_at(fields), _entry_order(str(entry_id)), dict(fields))
                      for entry_id, fields in batch]
        return [fields for _, _, fields in sorted(found, key=lambda item: item[:2])]
