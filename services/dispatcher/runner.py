"""The consume loop: reclaim due retries, read new jobs, survive Redis outages, stop on request."""

from __future__ import annotations

import asyncio
import logging
import time
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
BACKLOG_INTERVAL_SECONDS = 5.0  # how often the lag gauges are measured


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
        self.metrics = metrics or DispatchMetrics()
        self.handler = JobHandler(settings, self.outbox, channels, self.metrics)
        # Block on new jobs no longer than the shortest backoff, so retries start on time.
        self.block_ms = int(min(1000, max(20, settings.backoff_base_seconds * 1000)))
        # Renew held jobs well within the shortest backoff, the idle time after which others
        # may retry them.
        self.lease_interval = max(0.005, settings.backoff_base_seconds / 4)
        self.next_scan_at = 0.0
        self.slots = asyncio.Semaphore(settings.max_in_flight)
        self.lease = Lease()  # every entry in hand, running or waiting for a slot
        self.in_hand: set[asyncio.Task[None]] = set()
        self.finished = asyncio.Event()  # set each time a delivery ends
        self.failure: BaseException | None = None

    def backoff_ms(self, deliveries: int) -> int:
        return int(self.settings.backoff_seconds(deliveries) * 1000)

    async def run(self, stop: asyncio.Event) -> None:
        streams = self.outbox.streams
        log.info("dispatcher %s consuming %d streams (%s ... %s) as group %s "
                 "(max %d attempts, backoff from %.2fs)",
                 self.settings.consumer_name, len(streams), streams[0].name, streams[-1].name,
                 keys.OUTBOX_GROUP, self.settings.max_attempts,
                 self.settings.backoff_base_seconds)
        watcher = asyncio.create_task(self._watch_backlog(stop))
        async with self.outbox.keep_fresh(self.lease, self.lease_interval):
            try:
                await self._consume(stop)
            finally:
                await self._drain()
                await watcher
        try:
            await self.outbox.leave()
        except Exception as exc:
            if not (isinstance(exc, RedisError) or is_redis_outage(exc)):
                raise
            log.info("could not leave the consumer group (%s); harmless", type(exc).__name__)
        log.info("dispatcher %s stopped", self.settings.consumer_name)

    async def _consume(self, stop: asyncio.Event) -> None:
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

    async def step(self, stop: asyncio.Event) -> None:
        """Due retries, then new jobs, as many as there is room for: deliveries run in the
        background (`_start`), so a job read now does not wait for slower ones read before it.
        Only waits for new jobs when there was no retry."""
        self._raise_failure()
        room = self.settings.max_in_flight - len(self.in_hand)
        if room <= 0:  # every slot taken: wait for a delivery to finish
            self.finished.clear()
            await self.finished.wait()
            return
        due: list[ClaimedEntry] = []
        loop = asyncio.get_running_loop()
        if loop.time() >= self.next_scan_at:  # a long pending list is not scanned per job
            due = await self.outbox.claim_due(self.backoff_ms, self.lease.held)
            if not due:
                self.next_scan_at = loop.time() + self.block_ms / 2000
        self._start(due, stop)
        if stop.is_set():
            return
        room = self.settings.max_in_flight - len(self.in_hand)
        if room > 0:
            fresh = await self.outbox.read_new(None if due else self.block_ms, room)
            self._start(fresh, stop)

    def _start(self, entries: list[ClaimedEntry], stop: asyncio.Event) -> None:
        """Hold the entries (the lease keeps them fresh) and deliver each in a task of its own;
        at most DISPATCH_MAX_IN_FLIGHT run at once (a read names many streams, so it can return
        more than there is room for: those wait their turn, held). The first failure is raised
        by the next step, into the loop's outage handling."""
        read_at = asyncio.get_running_loop().time()
        for entry in entries:
            if (entry.stream.name, entry.entry_id) in self.lease.held:
                continue  # already being delivered here (claim_due skips those too)
            self.lease.hold(entry)
            task = asyncio.create_task(self._handle_one(entry, read_at, stop))
            self.in_hand.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.in_hand.discard(task)
        self.finished.set()
        if not task.cancelled() and task.exception() is not None and self.failure is None:
            self.failure = task.exception()

    def _raise_failure(self) -> None:
        failure, self.failure = self.failure, None
        if failure is not None:
            raise failure

    async def _drain(self) -> None:
        """Stopping: every delivery started runs to its end (none is cancelled halfway through a
        Redis command); the ones not started stay pending, for another consumer to claim after
        the first backoff (counted as one delivery each)."""
        while self.in_hand:
            await asyncio.gather(*self.in_hand, return_exceptions=True)
        self.failure = None

    async def _handle_one(self, entry: ClaimedEntry, read_at: float, stop: asyncio.Event) -> None:
        async with self.slots:
            if stop.is_set():
                self.lease.release(entry)
                return
            self.metrics.in_flight.inc()
            try:
                # An entry read or claimed just now is this consumer's: others may claim it only
                # once idle for the first backoff, four lease intervals. One that waited for a
                # slot may have been claimed meanwhile.
                waited = asyncio.get_running_loop().time() - read_at
                if waited >= self.lease_interval and not await self.outbox.still_held(entry):
                    log.info("job %s was claimed by another dispatcher while it waited",
                             entry.entry_id)
                    return
                outcome = await self.handler.handle(entry)
            finally:
                self.lease.release(entry)
                self.metrics.in_flight.dec()
            self.metrics.jobs.labels(outcome=outcome.value).inc()

    async def _watch_backlog(self, stop: asyncio.Event) -> None:
        """Keep the backlog gauges current (every BACKLOG_INTERVAL_SECONDS) until stopped."""
        while not stop.is_set():
            try:
                backlog = await self.outbox.backlog(int(time.time() * 1000))
            except Exception as exc:  # only gauges: never a reason to stop delivering
                if not (isinstance(exc, RedisError) or is_redis_outage(exc)):
                    log.exception("could not measure the outbox backlog")
                # else Redis is unavailable: the consume loop reports it
            else:
                self.metrics.unread.set(backlog.unread)
                self.metrics.pending.set(backlog.pending)
                self.metrics.oldest_unread_seconds.set(backlog.oldest_unread_seconds)
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), BACKLOG_INTERVAL_SECONDS)

    async def _pause(self, stop: asyncio.Event, previous: float, reason: str) -> float:
        delay = min(REDIS_PAUSE_MAX_SECONDS, previous * 2 if previous else 0.2)
        log.warning("%s; retrying in %.1fs", reason, delay)
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        return delay
