"""The consume loop: reclaim due retries, read new jobs, survive Redis outages, stop on request."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from contextlib import suppress

from redis.exceptions import OutOfMemoryError, RedisError, ResponseError

from services.dispatcher.channels.base import Channel
from services.dispatcher.delivery import JobHandler
from services.dispatcher.jobs import ClaimedEntry
from services.dispatcher.metrics import DispatchMetrics
from services.dispatcher.outage import is_redis_outage
from services.dispatcher.outbox import Lease, Outbox, RedisClient
from services.dispatcher.settings import DispatcherSettings
from services.verification import keys

log = logging.getLogger(__name__)

REDIS_PAUSE_MAX_SECONDS = 10.0


class Dispatcher:
    def __init__(
        self,
        settings: DispatcherSettings,
        client: RedisClient,
        channels: Mapping[str, Channel],
        metrics: DispatchMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.outbox = Outbox(client, settings.consumer_name, settings.shared.redis_cluster)
        self.handler = JobHandler(settings, self.outbox, channels)
        self.metrics = metrics or DispatchMetrics()
        # Block on new jobs no longer than the shortest backoff, so retries start on time.
        self.block_ms = int(min(1000, max(20, settings.backoff_base_seconds * 1000)))
        # Renew held jobs well within the shortest backoff, the idle time after which others
        # may retry them.
        self.lease_interval = max(0.005, settings.backoff_base_seconds / 4)
        self.next_scan_at = 0.0
        self.slots = asyncio.Semaphore(settings.max_in_flight)

    def backoff_ms(self, deliveries: int) -> int:
        return int(self.settings.backoff_seconds(deliveries) * 1000)

    async def run(self, stop: asyncio.Event) -> None:
        streams = self.outbox.streams
        log.info("dispatcher %s consuming %d streams (%s ... %s) as group %s "
                 "(max %d attempts, backoff from %.2fs)",
                 self.settings.consumer_name, len(streams), streams[0].name, streams[-1].name,
                 keys.OUTBOX_GROUP, self.settings.max_attempts,
                 self.settings.backoff_base_seconds)
        group_ready = False
        pause = 0.0
        while not stop.is_set():
            try:
                if not group_ready:
                    await self.outbox.ensure_group()
                    group_ready = True
                    if pause:
                        log.info("Redis is reachable again; resuming")
                await self.step(stop)
                pause = 0.0
            except OutOfMemoryError:  # maxmemory (noeviction): writes refused until memory frees
                pause = await self._pause(stop, pause, "Redis is out of memory (maxmemory)")
            except Exception as exc:  # never crash: wait, carry on
                # A cluster's TRYAGAIN or CLUSTERDOWN is a ResponseError too: an outage first.
                if isinstance(exc, ResponseError) and not is_redis_outage(exc):
                    # The stream expired (or Redis restarted empty): NOGROUP; or it went while
                    # this consumer blocked on it: UNBLOCKED. Either way its group is made again.
                    if "NOGROUP" in str(exc) or "UNBLOCKED" in str(exc):
                        group_ready = False
                        continue
                    pause = await self._pause(stop, pause, f"Redis refused a command: {exc}")
                elif isinstance(exc, RedisError) or is_redis_outage(exc):
                    group_ready = False
                    self.metrics.redis_errors.inc()
                    pause = await self._pause(
                        stop, pause,
                        f"Redis unavailable ({type(exc).__name__}; is REDIS_URL right?)")
                else:
                    log.exception("unexpected error in the dispatch loop")
                    pause = await self._pause(stop, pause, type(exc).__name__)
        try:
            await self.outbox.leave()
        except Exception as exc:
            if not (isinstance(exc, RedisError) or is_redis_outage(exc)):
                raise
            log.info("could not leave the consumer group (%s); harmless", type(exc).__name__)
        log.info("dispatcher %s stopped", self.settings.consumer_name)

    async def step(self, stop: asyncio.Event) -> None:
        """Due retries, then new jobs (a batch per stream); only waits for new jobs when
        there was no retry."""
        due: list[ClaimedEntry] = []
        loop = asyncio.get_running_loop()
        if loop.time() >= self.next_scan_at:  # a long pending list is not scanned per job
            due = await self.outbox.claim_due(self.backoff_ms)
            if not due:
                self.next_scan_at = loop.time() + self.block_ms / 2000
        await self._handle_all(due, stop)
        if stop.is_set():
            return
        fresh = await self.outbox.read_new(None if due else self.block_ms,
                                           self.settings.max_in_flight)
        await self._handle_all(fresh, stop)

    async def _handle_all(self, entries: list[ClaimedEntry], stop: asyncio.Event) -> None:
        """Up to DISPATCH_MAX_IN_FLIGHT deliveries at once, the rest held meanwhile. Once asked
        to stop, the entries not started stay pending: another consumer claims them after the
        first backoff (counted as one delivery each)."""
        if not entries:
            return
        async with self.outbox.lease(entries, self.lease_interval) as lease:
            # Every delivery runs to its end (none is cancelled halfway through a Redis
            # command); the first failure then goes to the loop's outage handling.
            results = await asyncio.gather(
                *(self._handle_one(entry, lease, stop) for entry in entries),
                return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _handle_one(self, entry: ClaimedEntry, lease: Lease, stop: asyncio.Event) -> None:
        async with self.slots:
            if stop.is_set():
                return
            self.metrics.in_flight.inc()
            try:
                if not await self.outbox.still_held(entry):
                    log.info("job %s was claimed by another dispatcher while it waited",
                             entry.entry_id)
                    return
                outcome = await self.handler.handle(entry)
            finally:
                lease.release(entry)
                self.metrics.in_flight.dec()
            self.metrics.jobs.labels(outcome=outcome.value).inc()

    async def _pause(self, stop: asyncio.Event, previous: float, reason: str) -> float:
        delay = min(REDIS_PAUSE_MAX_SECONDS, previous * 2 if previous else 0.2)
        log.warning("%s; retrying in %.1fs", reason, delay)
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        return delay
