"""The outbox stream and its consumer group, seen from one dispatcher consumer.

Retries: a failed job stays pending. Its idle time counts from the failure (a lease renews it while
a delivery runs), and any consumer may claim it once idle for the backoff of its delivery count.
XAUTOCLAIM applies one idle threshold to every entry, so the backoff of each entry is applied with
XPENDING ... IDLE to find candidates and XCLAIM with that entry's own min-idle-time, which is
race-free between consumers in the same way (only one XCLAIM of an idle entry succeeds).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import OutOfMemoryError, RedisError, ResponseError

from services.dispatcher.jobs import ClaimedEntry
from services.verification import keys

log = logging.getLogger(__name__)

PENDING_SCAN_PAGE = 100
SETTLE_SCRIPT = Path(__file__).parent / "lua" / "settle.lua"


class Outbox:
    def __init__(self, client: aioredis.Redis, consumer: str) -> None:
        self.client = client
        self.consumer = consumer
        self.settle_script = client.register_script(SETTLE_SCRIPT.read_text("utf-8"))

    async def ensure_group(self) -> None:
        """Create the group at the start of the stream, so jobs enqueued before any dispatcher
        ran are delivered too. The stream key, when created here, gets the contract's TTL."""
        try:
            await self.client.xgroup_create(
                keys.OUTBOX_STREAM, keys.OUTBOX_GROUP, id="0", mkstream=True
            )
        except OutOfMemoryError:
            # A full Redis refuses XGROUP CREATE before it looks for the group: one that exists
            # is all a restarted dispatcher needs to deliver (and settle) what is queued.
            if not await self._group_exists():
                raise
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        if await self.client.pttl(keys.OUTBOX_STREAM) == -1:
            await self.client.pexpire(keys.OUTBOX_STREAM, keys.STREAM_TTL_MS)

    async def _group_exists(self) -> bool:
        try:
            groups: Any = await self.client.xinfo_groups(keys.OUTBOX_STREAM)
        except ResponseError:  # no such key
            return False
        return any(group["name"] == keys.OUTBOX_GROUP for group in groups)

    async def leave(self) -> None:
        """Drop this consumer's name from the group if it holds no job (each restart is a new
        hostname-pid; a name that still holds jobs stays until another consumer claims them)."""
        consumers: Any = await self.client.xinfo_consumers(keys.OUTBOX_STREAM, keys.OUTBOX_GROUP)
        for consumer in consumers:
            if consumer["name"] == self.consumer and int(consumer["pending"]) == 0:
                await self.client.xgroup_delconsumer(
                    keys.OUTBOX_STREAM, keys.OUTBOX_GROUP, self.consumer
                )

    async def read_new(self, block_ms: int | None) -> ClaimedEntry | None:
        reply: Any = await self.client.xreadgroup(
            keys.OUTBOX_GROUP, self.consumer, {keys.OUTBOX_STREAM: ">"}, count=1, block=block_ms
        )
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                return ClaimedEntry(entry_id, dict(fields or {}), deliveries=1)
        return None

    async def claim_due(self, backoff_ms: Callable[[int], int]) -> ClaimedEntry | None:
        """One pending entry whose backoff has passed, now owned by this consumer, or None."""
        start = "-"
        min_idle = backoff_ms(1)
        while True:
            page: Any = await self.client.xpending_range(
                keys.OUTBOX_STREAM, keys.OUTBOX_GROUP, start, "+", PENDING_SCAN_PAGE, idle=min_idle
            )
            for pending in page:
                delivered = int(pending["times_delivered"])
                wait_ms = backoff_ms(delivered)
                if int(pending["time_since_delivered"]) < wait_ms:
                    continue
                claimed: Any = await self.client.xclaim(
                    keys.OUTBOX_STREAM, keys.OUTBOX_GROUP, self.consumer, wait_ms,
                    [pending["message_id"]],
                )
                for entry_id, fields in claimed or []:
                    return ClaimedEntry(entry_id, dict(fields or {}), deliveries=delivered + 1)
            if len(page) < PENDING_SCAN_PAGE:
                return None
            start = "(" + str(page[-1]["message_id"])

    async def renew_lease(self, entry_id: str) -> None:
        """Reset the entry's idle time (JUSTID leaves the delivery count alone)."""
        await self.client.xclaim(
            keys.OUTBOX_STREAM, keys.OUTBOX_GROUP, self.consumer, 0, [entry_id], justid=True
        )

    @asynccontextmanager
    async def lease(self, entry_id: str, interval: float) -> AsyncIterator[None]:
        """While a slow delivery runs, keep the entry fresh so no other consumer retries it.
        The renewer is told to stop rather than cancelled: cancelling a Redis command halfway
        can leave a pooled connection mid-reply."""
        done = asyncio.Event()

        async def renew() -> None:
            while True:
                with suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), interval)
                if done.is_set():
                    return
                try:
                    await self.renew_lease(entry_id)
                except RedisError as exc:
                    log.debug("lease renewal of %s failed: %s", entry_id, type(exc).__name__)

        task = asyncio.create_task(renew())
        try:
            yield
        finally:
            done.set()
            await task

    async def settle(self, entry_id: str) -> None:
        """Done with the job: acknowledge and delete it (the sealed code leaves the stream), in
        one script, which Redis runs even when out of memory (lua/settle.lua)."""
        await self.settle_script(keys=[keys.OUTBOX_STREAM], args=[keys.OUTBOX_GROUP, entry_id])

    async def dead_letter(self, entry_id: str, fields: dict[str, str]) -> None:
        """Copy to the dead-letter stream and settle, in one transaction. Refused while Redis is
        out of memory (XADD): the job stays pending and is dead-lettered when claimed again."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.xadd(
                keys.DEAD_LETTER_STREAM, fields,  # type: ignore[arg-type]
                maxlen=keys.DEAD_LETTER_MAXLEN, approximate=True,
            )
            pipe.pexpire(keys.DEAD_LETTER_STREAM, keys.STREAM_TTL_MS)
            pipe.xack(keys.OUTBOX_STREAM, keys.OUTBOX_GROUP, entry_id)
            pipe.xdel(keys.OUTBOX_STREAM, entry_id)
            await pipe.execute()

    async def verification_state(self, verification_id: str) -> tuple[str | None, int, int]:
        """(status, expires_at ms, Redis now ms) of the verification record, one round trip."""
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hmget(keys.record_key(verification_id), ["status", "expires_at"])
            pipe.time()
            (status, expires_at), (seconds, micros) = await pipe.execute()
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        return status, int(expires_at or 0), now_ms
