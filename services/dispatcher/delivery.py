"""Handle one claimed outbox entry: skip, deliver, schedule a retry, or dead-letter it.

Never touches the verification record: a delivery failure cannot lose a verification.
The code exists in clear only inside `handle`, and only the channel sees it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from enum import StrEnum

from services.dispatcher.channels.base import Channel, DeliveryError, OutgoingMessage
from services.dispatcher.jobs import ClaimedEntry, DeliveryJob, MalformedJob, dead_letter_fields
from services.dispatcher.message import EMAIL_SUBJECT, expiry_minutes, message_text
from services.dispatcher.metrics import DispatchMetrics
from services.dispatcher.outage import is_redis_outage
from services.dispatcher.outbox import Outbox
from services.dispatcher.settings import DispatcherSettings
from services.verification.crypto import SealError, open_sealed_code, open_sealed_code_v3

log = logging.getLogger(__name__)

SETTLE_TRIES = 8  # about 25 s of Redis trouble before a delivered job may be delivered again


class Outcome(StrEnum):
    DELIVERED = "delivered"
    SKIPPED = "skipped"
    RETRY = "retry"
    DEAD_LETTERED = "dead_lettered"


def safe_error(exc: BaseException, secret: str | None = None) -> str:
    """A short error text for logs and the dead-letter stream, with the code removed if echoed."""
    text = str(exc) if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
    if secret:
        text = text.replace(secret, "[redacted]")
    return text[:300]


class JobHandler:
    def __init__(
        self, settings: DispatcherSettings, outbox: Outbox, channels: Mapping[str, Channel],
        metrics: DispatchMetrics,
    ) -> None:
        self.settings = settings
        self.outbox = outbox
        self.channels = channels
        self.metrics = metrics
        self.minutes = expiry_minutes(settings.shared.code_ttl_seconds)

    async def handle(self, entry: ClaimedEntry) -> Outcome:
        """The caller holds the entry (Outbox.lease) while this runs."""
        limit = self.settings.max_attempts
        if not entry.fields:  # deleted while pending: nothing left to deliver
            await self.outbox.settle(entry)
            return Outcome.SKIPPED
        try:
            job = DeliveryJob.from_fields(entry.fields, entry.stream.version)
        except MalformedJob as exc:
            return await self._dead_letter(entry, str(exc), entry.deliveries)
        if entry.deliveries > limit:  # a consumer died during the last allowed attempt
            error = "delivery attempts exhausted (a dispatcher stopped mid-delivery)"
            return await self._dead_letter(entry, error, entry.deliveries - 1)

        state = await self.outbox.verification_state(job)
        if state.status != "pending" or state.now_ms >= state.expires_at:
            reason = "gone" if state.status is None else (
                "expired" if state.status == "pending" else state.status)
            log.info("job %s for %s not delivered: the verification is %s",
                     entry.entry_id, job.verification_id, reason)
            await self.outbox.settle(entry)
            return Outcome.SKIPPED

        open_seal = open_sealed_code_v3 if job.version == 3 else open_sealed_code
        try:
            code = open_seal(self.settings.shared.code_pepper, job.verification_id, job.code_sealed)
        except SealError as exc:  # wrong pepper or tampered: no retry can fix it
            return await self._dead_letter(entry, str(exc), entry.deliveries)

        message = OutgoingMessage(
            to=job.to,
            subject=EMAIL_SUBJECT,
            body=message_text(code, self.minutes),
            reference=entry.entry_id,
            delivery_key=f"{job.verification_id}.{entry.entry_id}",
        )
        started = time.perf_counter()
        try:
            await asyncio.wait_for(
                self.channels[job.channel].send(message), self.settings.delivery_timeout_seconds
            )
        except Exception as exc:
            return await self._failed(entry, job, safe_error(exc, code))
        self.metrics.delivery_seconds.labels(channel=job.channel).observe(
            time.perf_counter() - started)
        await self._settle_delivered(entry)
        log.info("job %s for %s delivered by %s (attempt %d)",
                 entry.entry_id, job.verification_id, job.channel, entry.deliveries)
        return Outcome.DELIVERED

    async def _failed(self, entry: ClaimedEntry, job: DeliveryJob, error: str) -> Outcome:
        if entry.deliveries >= self.settings.max_attempts:
            return await self._dead_letter(entry, error, entry.deliveries)
        delay = self.settings.backoff_seconds(entry.deliveries)
        log.warning("job %s for %s: %s delivery attempt %d/%d failed: %s; retrying in %.2fs",
                    entry.entry_id, job.verification_id, job.channel, entry.deliveries,
                    self.settings.max_attempts, error, delay)
        return Outcome.RETRY

    async def _dead_letter(self, entry: ClaimedEntry, error: str, attempts: int) -> Outcome:
        fields = dead_letter_fields(entry.fields, error, attempts)
        await self.outbox.dead_letter(entry, fields)
        log.error("job %s for %s dead-lettered after %d attempts: %s",
                  entry.entry_id, entry.fields.get("verification_id", "?"), attempts, error)
        return Outcome.DEAD_LETTERED

    async def _settle_delivered(self, entry: ClaimedEntry) -> None:
        """Acknowledge through short Redis trouble (a blip, a cluster primary failing over), so
        it does not cause a second message."""
        entry_id = entry.entry_id
        delay = 0.1
        for attempt in range(1, SETTLE_TRIES + 1):
            try:
                await self.outbox.settle(entry)
                return
            except Exception as exc:  # a lost connection, a failover, a closed transport
                if attempt == SETTLE_TRIES or not is_redis_outage(exc):
                    raise
                log.warning("job %s delivered but not yet acknowledged (Redis: %s); "
                            "retrying in %.1fs", entry_id, type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
