"""The events streams the users area consumes, read as one (docs/storage-contract.md "Outbox and
events entries (version 3)"): the 64 buckets `vfy3:{b<n>}:events` and, wherever version-2 data
can exist (one node, not a cluster), the version-2 `vfy:events`, all with group `monolith-users`.

On one node a single XREADGROUP names every stream (and may block); a cluster cannot block on
keys of many slots, so there every stream is polled in one cluster pipeline of non-blocking
XREADGROUPs, waiting 1 ms, doubling up to 50 ms, while all are empty.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import redis
import redis.cluster

from monolith import keys

IDLE_WAIT_FIRST_S = 0.001
IDLE_WAIT_MAX_S = 0.050
# (stream, entry id, fields): fields are empty for an entry trimmed while pending
StreamEntry = tuple[str, str, dict[str, str]]


def events_streams(cluster: bool) -> tuple[str, ...]:
    buckets = tuple(keys.v3_events(bucket) for bucket in range(keys.BUCKETS))
    return buckets if cluster else (*buckets, keys.EVENTS)


@dataclass
class GroupStreams:
    """One consumer of a group on many streams."""

    client: redis.Redis
    group: str
    consumer: str
    streams: tuple[str, ...]
    cluster: bool = False
    idle_wait: float = field(default=IDLE_WAIT_FIRST_S)

    def _pipeline(self) -> Any:
        return self.client.pipeline(transaction=False)

    def _node_of(self, key: str) -> dict[str, Any]:
        """In a cluster, the node of `key`, so redis-py need not ask the server where the keys
        of an XREADGROUP are (one more round trip per stream)."""
        if isinstance(self.client, redis.cluster.RedisCluster):
            return {"target_nodes": self.client.get_node_from_key(key)}
        return {}

    def ensure_groups(self) -> None:
        """`XGROUP CREATE … 0 MKSTREAM` on every stream, ignoring BUSYGROUP; a stream made here
        gets the contract's TTL. A full Redis refuses XGROUP CREATE even when the group exists:
        then the group must already exist (reading needs no memory), else the error is raised."""
        pipe = self._pipeline()
        for stream in self.streams:
            pipe.xgroup_create(stream, self.group, id="0", mkstream=True)
        results = pipe.execute(raise_on_error=False)
        for stream, result in zip(self.streams, results, strict=True):
            if isinstance(result, redis.exceptions.OutOfMemoryError):
                if not self.group_exists(stream):
                    raise result
            elif isinstance(result, redis.ResponseError):
                if "BUSYGROUP" not in str(result):
                    raise result
            elif isinstance(result, Exception):
                raise result
        pipe = self._pipeline()
        for stream in self.streams:
            pipe.pexpire(stream, keys.STREAM_TTL_MS, nx=True)
        pipe.execute()

    def group_exists(self, stream: str) -> bool:
        try:
            groups: Any = self.client.xinfo_groups(stream)
        except redis.ResponseError:  # no such key
            return False
        return any(group["name"] == self.group for group in groups)

    def read(self, count: int, block_ms: int) -> list[StreamEntry]:
        """New entries of every stream (up to `count` per stream), waiting up to `block_ms`."""
        if self.cluster:
            return self._poll_each(count, block_ms)
        reply: Any = self.client.xreadgroup(
            self.group, self.consumer, dict.fromkeys(self.streams, ">"), count=count,
            block=block_ms,
        )
        return _entries(reply or [])

    def _poll_each(self, count: int, block_ms: int) -> list[StreamEntry]:
        pipe = self._pipeline()
        for stream in self.streams:
            pipe.execute_command("XREADGROUP", "GROUP", self.group, self.consumer, "COUNT", count,
                                 "STREAMS", stream, ">", **self._node_of(stream))
        replies = pipe.execute()
        found = _entries(part for reply in replies for part in reply or [])
        if found:
            self.idle_wait = IDLE_WAIT_FIRST_S
        else:
            time.sleep(min(self.idle_wait, block_ms / 1000))
            self.idle_wait = min(self.idle_wait * 2, IDLE_WAIT_MAX_S)
        return found

    def reclaim(self, min_idle_ms: int, count: int) -> list[StreamEntry]:
        """Entries another consumer read and never acknowledged, idle at least `min_idle_ms`,
        now this consumer's: XAUTOCLAIM per stream (the first page of every stream in one
        pipeline, further pages of a stream one by one)."""
        pipe = self._pipeline()
        for stream in self.streams:
            pipe.xautoclaim(stream, self.group, self.consumer, min_idle_ms, start_id="0-0",
                            count=count)
        replies = pipe.execute()
        claimed: list[StreamEntry] = []
        for stream, reply in zip(self.streams, replies, strict=True):
            while True:
                cursor, entries = str(reply[0]), list(reply[1])
                claimed += [(stream, str(entry_id), dict(fields or {}))
                            for entry_id, fields in entries]
                if cursor == "0-0" or not entries:
                    break
                reply = self.client.xautoclaim(stream, self.group, self.consumer, min_idle_ms,
                                               start_id=cursor, count=count)
        return claimed

    def ack(self, stream: str, entry_id: str) -> None:
        self.client.xack(stream, self.group, entry_id)


def _entries(reply: Any) -> list[StreamEntry]:
    return [(str(stream), str(entry_id), dict(fields or {}))
            for stream, stream_entries in reply for entry_id, fields in stream_entries]
