"""The outbox streams and their consumer group, seen from one dispatcher consumer.

Streams (docs/storage-contract.md "Outbox and events entries (version 3)"): the 64 buckets
`vfy3:{b<n>}:outbox` and, on a single node, the version-2 `vfy:outbox`. On a single node one
blocking XREADGROUP names them all (one command); a cluster cannot block on keys of many slots,
so there one cluster pipeline of non-blocking XREADGROUPs (one per stream, sent to each stream's
node at once) is polled, waiting 1 ms, doubling to 50 ms, while every stream is empty.

Retries: a failed job stays pending. Its idle time counts from the failure (a lease renews it while
this consumer holds it), and any consumer may claim it once idle for the backoff of its delivery
count. XAUTOCLAIM applies one idle threshold to every entry, so the backoff of each entry is
applied with XPENDING ... IDLE to find candidates (per stream, all streams in one pipeline) and
XCLAIM with that entry's own min-idle-time, which is race-free between consumers in the same way
(only one XCLAIM of an idle entry succeeds).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Container, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.dispatcher.jobs import ClaimedEntry, DeliveryJob, OutboxStream, outbox_streams
from services.dispatcher.outage import is_redis_outage
from services.verification import keys, resp
from services.verification.packed import PackedRecordError, unpack

log = logging.getLogger(__name__)

RedisClient = aioredis.Redis | RedisCluster
PENDING_SCAN_PAGE = 100
CLAIM_BATCH = 16  # due retries claimed per scan: each is held (leased) until handled
IDLE_WAIT_FIRST_S = 0.001  # cluster polling: the wait after the first empty poll...
IDLE_WAIT_MAX_S = 0.050  # ...doubling up to this while every stream stays empty
SETTLE_SCRIPT = Path(__file__).parent / "lua" / "settle.lua"
HOLD_SCRIPT = Path(__file__).parent / "lua" / "hold.lua"


@dataclass(frozen=True)
class RecordState:
    """What the liveness check needs: the status (None: no record; "replaced": the version-3 key
    holds a newer verification), the expiry and Redis's now, in ms."""

    status: str | None
    expires_at: int
    now_ms: int


@dataclass(frozen=True)
class Backlog:
    """Jobs not finished, over every stream: `unread` no dispatcher has read yet, `pending` read
    and not settled (in delivery, or waiting for a retry); and the age of the oldest unread job."""

    unread: int
    pending: int
    oldest_unread_seconds: float


@dataclass
class Lease:
    """The entries this consumer holds and has not finished: their idle time is kept fresh."""

    held: dict[tuple[str, str], ClaimedEntry] = field(default_factory=dict)

    def hold(self, entry: ClaimedEntry) -> None:
        self.held[(entry.stream.name, entry.entry_id)] = entry

    def release(self, entry: ClaimedEntry) -> None:
        self.held.pop((entry.stream.name, entry.entry_id), None)


def _fields(fields: Any) -> dict[str, str]:
    if not fields:
        return {}
    if isinstance(fields, dict):
        return dict(fields)
    return dict(zip(fields[::2], fields[1::2], strict=True))


class Outbox:
    def __init__(self, client: RedisClient, consumer: str, cluster: bool) -> None:
        self.client = client
        self.consumer = consumer
        self.cluster = cluster
        self.streams = outbox_streams(cluster)
        self.by_name = {stream.name: stream for stream in self.streams}
        self.settle_script = client.register_script(SETTLE_SCRIPT.read_text("utf-8"))
        self.hold_script = client.register_script(HOLD_SCRIPT.read_text("utf-8"))
        self.idle_wait = IDLE_WAIT_FIRST_S
        self._packed_reads: dict[tuple[int | None, int], bytes] = {}

    def _pipeline(self) -> Any:
        return self.client.pipeline(transaction=False)

    def _node_of(self, key: str) -> dict[str, Any]:
        """In a cluster, the node of `key`: given for commands redis-py would otherwise ask the
        server to find the keys of (XREADGROUP: one more round trip each), and for TIME."""
        if isinstance(self.client, RedisCluster):
            return {"target_nodes": self.client.get_node_from_key(key)}
        return {}

    # --- the group ---------------------------------------------------------------------------
    async def ensure_group(self) -> None:
        """Create the group on every stream at its start, so jobs enqueued before any dispatcher
        ran are delivered too. A stream created here (MKSTREAM) gets the contract's TTL."""
        async with self._pipeline() as pipe:
            for stream in self.streams:
                pipe.xgroup_create(stream.name, keys.OUTBOX_GROUP, id="0", mkstream=True)
            results = await pipe.execute(raise_on_error=False)
        for stream, result in zip(self.streams, results, strict=True):
            if isinstance(result, OutOfMemoryError):
                # A full Redis refuses XGROUP CREATE before it looks for the group: one that
                # exists is all a restarted dispatcher needs to deliver (and settle) what is queued.
                if not await self._group_exists(stream.name):
                    raise result
            elif isinstance(result, ResponseError):
                if "BUSYGROUP" not in str(result):
                    raise result
            elif isinstance(result, Exception):
                raise result
        async with self._pipeline() as pipe:
            for stream in self.streams:
                pipe.pttl(stream.name)
            ttls = await pipe.execute()
        without_ttl = [s.name for s, ttl in zip(self.streams, ttls, strict=True) if ttl == -1]
        if without_ttl:
            async with self._pipeline() as pipe:
                for name in without_ttl:
                    pipe.pexpire(name, keys.STREAM_TTL_MS)
                await pipe.execute()

    async def _group_exists(self, stream: str) -> bool:
        try:
            groups: Any = await self.client.xinfo_groups(stream)
        except ResponseError:  # no such key
            return False
        return any(group["name"] == keys.OUTBOX_GROUP for group in groups)

    async def leave(self) -> None:
        """Drop this consumer's name from each stream's group where it holds no job (each restart
        is a new hostname-pid; a name that still holds jobs stays until another claims them)."""
        async with self._pipeline() as pipe:
            for stream in self.streams:
                pipe.xinfo_consumers(stream.name, keys.OUTBOX_GROUP)
            replies = await pipe.execute(raise_on_error=False)
        idle_in = [
            stream.name for stream, consumers in zip(self.streams, replies, strict=True)
            if not isinstance(consumers, Exception) and any(
                consumer["name"] == self.consumer and int(consumer["pending"]) == 0
                for consumer in consumers)
        ]
        if idle_in:
            async with self._pipeline() as pipe:
                for name in idle_in:
                    pipe.xgroup_delconsumer(name, keys.OUTBOX_GROUP, self.consumer)
                await pipe.execute()

    # --- reading -----------------------------------------------------------------------------
    async def read_new(self, block_ms: int | None, count: int = 1) -> list[ClaimedEntry]:
        """New jobs (at most `count` per stream), now pending for this consumer. Waits up to
        `block_ms` when there are none (None: does not wait)."""
        if self.cluster or not isinstance(self.client, aioredis.Redis):
            return await self._poll_each_stream(block_ms, count)
        reply: Any = await self._read_packed(self.client, block_ms, count)
        # Unparsed: RESP3 answers a map of stream to entries, RESP2 a list of pairs.
        return self._entries(reply.items() if isinstance(reply, dict) else reply or [])

    def _read_command(self, block_ms: int | None, count: int) -> bytes:
        """XREADGROUP of every stream, packed once per (block, count): its ~140 arguments never
        change, and packing them was most of a read's cost (resp.py)."""
        packed = self._packed_reads.get((block_ms, count))
        if packed is None:
            block: tuple[str | int, ...] = ("BLOCK", block_ms) if block_ms is not None else ()
            packed = resp.pack(
                "XREADGROUP", "GROUP", keys.OUTBOX_GROUP, self.consumer, "COUNT", count, *block,
                "STREAMS", *(stream.name for stream in self.streams),
                *(">" for _ in self.streams))
            self._packed_reads[(block_ms, count)] = packed
        return packed

    async def _read_packed(self, client: aioredis.Redis, block_ms: int | None, count: int) -> Any:
        """A pooled connection found dropped is replaced once, as redis-py's own retry would."""
        packed = self._read_command(block_ms, count)
        try:
            return await resp.send_packed(client.connection_pool, packed)
        except (RedisConnectionError, RedisTimeoutError):
            return await resp.send_packed(client.connection_pool, packed)

    async def _poll_each_stream(self, block_ms: int | None, count: int) -> list[ClaimedEntry]:
        async with self._pipeline() as pipe:
            for stream in self.streams:
                pipe.execute_command(
                    "XREADGROUP", "GROUP", keys.OUTBOX_GROUP, self.consumer, "COUNT", count,
                    "STREAMS", stream.name, ">", **self._node_of(stream.name),
                )
            replies = await pipe.execute()
        entries = self._entries(part for reply in replies for part in reply or [])
        if entries:
            self.idle_wait = IDLE_WAIT_FIRST_S
        elif block_ms:
            await asyncio.sleep(min(self.idle_wait, block_ms / 1000))
            self.idle_wait = min(self.idle_wait * 2, IDLE_WAIT_MAX_S)
        return entries

    def _entries(self, reply: Iterable[Any]) -> list[ClaimedEntry]:
        """(stream, entries) pairs as XREADGROUP answers; an entry's fields as redis-py parses
        them (a dict) or as they come on the wire (flat: name, value, ...)."""
        return [
            ClaimedEntry(self.by_name[str(stream)], entry_id, _fields(fields), deliveries=1)
            for stream, stream_entries in reply
            for entry_id, fields in stream_entries
        ]

    async def claim_due(self, backoff_ms: Callable[[int], int],
                        in_hand: Container[tuple[str, str]] = ()) -> list[ClaimedEntry]:
        """Pending entries whose backoff has passed (up to CLAIM_BATCH), now owned by this
        consumer; never one of `in_hand` ((stream, entry id) this consumer is delivering: a
        renewal that came late must not make it claim, and deliver, its own job twice)."""
        min_idle = backoff_ms(1)
        async with self._pipeline() as pipe:
            for stream in self.streams:
                pipe.xpending_range(stream.name, keys.OUTBOX_GROUP, "-", "+", PENDING_SCAN_PAGE,
                                    idle=min_idle)
            first_pages = await pipe.execute()
        claimed: list[ClaimedEntry] = []
        for stream, page in zip(self.streams, first_pages, strict=True):
            while page and len(claimed) < CLAIM_BATCH:
                for pending in page:
                    if (stream.name, str(pending["message_id"])) in in_hand:
                        continue
                    entry = await self._claim_if_due(stream, pending, backoff_ms)
                    if entry is not None:
                        claimed.append(entry)
                        if len(claimed) >= CLAIM_BATCH:
                            break
                if len(page) < PENDING_SCAN_PAGE:
                    break
                page = await self.client.xpending_range(
                    stream.name, keys.OUTBOX_GROUP, "(" + str(page[-1]["message_id"]), "+",
                    PENDING_SCAN_PAGE, idle=min_idle,
                )
        return claimed

    async def _claim_if_due(
        self, stream: OutboxStream, pending: dict[str, Any], backoff_ms: Callable[[int], int]
    ) -> ClaimedEntry | None:
        delivered = int(pending["times_delivered"])
        wait_ms = backoff_ms(delivered)
        if int(pending["time_since_delivered"]) < wait_ms:
            return None
        claimed: Any = await self.client.xclaim(
            stream.name, keys.OUTBOX_GROUP, self.consumer, wait_ms, [pending["message_id"]],
        )
        for entry_id, fields in claimed or []:
            return ClaimedEntry(stream, entry_id, dict(fields or {}), deliveries=delivered + 1)
        return None

    async def backlog(self, now_ms: int) -> Backlog:
        """The group's backlog. Settled jobs are deleted from their stream, so a stream's length
        is its pending jobs plus its unread ones (XINFO GROUPS' own `lag` cannot count across
        deleted entries)."""
        async with self._pipeline() as pipe:
            for stream in self.streams:
                pipe.xlen(stream.name)
                pipe.xinfo_groups(stream.name)
            replies = await pipe.execute(raise_on_error=False)
        unread = pending = 0
        behind: list[tuple[str, str]] = []  # (stream, last id read) of streams with unread jobs
        for stream, length, groups in zip(self.streams, replies[::2], replies[1::2], strict=True):
            if isinstance(length, Exception) or isinstance(groups, Exception):
                continue  # no such stream yet
            group = next((g for g in groups if g["name"] == keys.OUTBOX_GROUP), None)
            if group is None:
                continue
            stream_pending = int(group["pending"])
            pending += stream_pending
            if int(length) > stream_pending:
                unread += int(length) - stream_pending
                behind.append((stream.name, str(group["last-delivered-id"])))
        oldest_ms = now_ms
        if behind:
            async with self._pipeline() as pipe:
                for name, last_read in behind:
                    pipe.xrange(name, "(" + last_read, "+", count=1)
                for first in await pipe.execute():
                    if first:
                        oldest_ms = min(oldest_ms, int(str(first[0][0]).split("-")[0]))
        return Backlog(unread, pending, max(0.0, (now_ms - oldest_ms) / 1000))

    # --- holding -----------------------------------------------------------------------------
    async def renew(self, entries: Iterable[ClaimedEntry]) -> set[tuple[str, str]]:
        """Reset the idle time of those of the entries this consumer still owns, and say which
        (stream, entry id) those are (lua/hold.lua: one call per stream, all at once)."""
        by_stream: dict[str, list[str]] = {}
        for entry in entries:
            by_stream.setdefault(entry.stream.name, []).append(entry.entry_id)
        replies = await asyncio.gather(*(
            self.hold_script(keys=[name], args=[keys.OUTBOX_GROUP, self.consumer, *entry_ids])
            for name, entry_ids in by_stream.items()
        ))
        return {(name, str(entry_id)) for name, held in zip(by_stream, replies, strict=True)
                for entry_id in held}

    async def still_held(self, entry: ClaimedEntry) -> bool:
        """Whether this consumer still owns the entry (now fresh again): false when it waited so
        long that another consumer claimed it, which then delivers it."""
        return bool(await self.renew([entry]))

    @asynccontextmanager
    async def keep_fresh(self, lease: Lease, interval: float) -> AsyncIterator[Lease]:
        """While this consumer holds entries (being delivered, or waiting their turn), renew them
        every `interval` so no other consumer retries them. The renewer is told to stop rather
        than cancelled: cancelling a Redis command halfway can leave a connection mid-reply."""
        done = asyncio.Event()

        async def renew() -> None:
            while True:
                with suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), interval)
                if done.is_set():
                    return
                if not lease.held:
                    continue
                try:
                    await self.renew(list(lease.held.values()))
                except Exception as exc:  # Redis unavailable: the next renewal may get through
                    if not (isinstance(exc, RedisError) or is_redis_outage(exc)):
                        raise
                    log.debug("lease renewal failed: %s", type(exc).__name__)

        task = asyncio.create_task(renew())
        try:
            yield lease
        finally:
            done.set()
            await task

    # --- finishing ---------------------------------------------------------------------------
    async def settle(self, entry: ClaimedEntry) -> None:
        """Done with the job: acknowledge and delete it on its own stream (the sealed code leaves
        the stream), in one script, which Redis runs even when out of memory (lua/settle.lua)."""
        await self.settle_script(keys=[entry.stream.name], args=[keys.OUTBOX_GROUP, entry.entry_id])

    async def dead_letter(self, entry: ClaimedEntry, fields: dict[str, str]) -> None:
        """Copy to the dead-letter stream and settle. On one node in one transaction, refused
        while Redis is out of memory (XADD): the job stays pending and is dead-lettered when
        claimed again. In a cluster the two streams are in other slots: the copy first, then the
        settle (a crash between leaves the job pending: it may be dead-lettered twice, never
        lost)."""
        if self.cluster:
            async with self._pipeline() as pipe:
                self._add_dead_letter(pipe, fields)
                await pipe.execute()
            await self.settle(entry)
            return
        async with self.client.pipeline(transaction=True) as pipe:
            self._add_dead_letter(pipe, fields)
            pipe.xack(entry.stream.name, keys.OUTBOX_GROUP, entry.entry_id)
            pipe.xdel(entry.stream.name, entry.entry_id)
            await pipe.execute()

    @staticmethod
    def _add_dead_letter(pipe: Any, fields: dict[str, str]) -> None:
        pipe.xadd(keys.DEAD_LETTER_STREAM, fields, maxlen=keys.DEAD_LETTER_MAXLEN,
                  approximate=True)
        pipe.pexpire(keys.DEAD_LETTER_STREAM, keys.STREAM_TTL_MS)

    # --- the liveness check ------------------------------------------------------------------
    async def verification_state(self, job: DeliveryJob) -> RecordState:
        """The job's verification as its record says, and Redis's now, in one round trip (in a
        cluster, TIME from the record's node)."""
        async with self._pipeline() as pipe:
            if job.version == 3:
                pipe.get(job.record_key)
            else:
                pipe.hmget(job.record_key, ["status", "expires_at"])
            pipe.execute_command("TIME", **self._node_of(job.record_key))
            stored, (seconds, micros) = await pipe.execute()
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        if job.version == 2:
            status, expires_at = stored
            return RecordState(status, int(expires_at or 0), now_ms)
        if stored is None:
            return RecordState(None, 0, now_ms)
        try:
            record = unpack(stored)
        except PackedRecordError:
            log.warning("the record of %s is not a packed record", job.verification_id)
            return RecordState(None, 0, now_ms)
        if record.rand != job.rand:  # the key now holds a newer verification of the destination
            return RecordState("replaced", record.expires_at, now_ms)
        return RecordState(record.status, record.expires_at, now_ms)
