"""Deliveries run concurrently, up to DISPATCH_MAX_IN_FLIGHT per process: a slow mail server is
served several messages at once, and never more than the bound."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import redis
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.dispatcher.runner import Dispatcher
from services.verification import keys
from tests.integration.dispatcher.conftest import RunDispatcher
from tests.integration.dispatcher.support import (
    async_client,
    dispatcher_settings,
    dispatching,
    eventually,
    outbox_is_empty,
    write_job,
)
from tests.support.devinbox import RunningInbox

MAIL_SECONDS = 0.2  # each message's DATA takes this long at the slow server


class SlowMailServer:
    """Accepts every mail after MAIL_SECONDS, counting how many it is handling at once."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0
        self.accepted: list[str] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            await asyncio.sleep(MAIL_SECONDS)
        finally:
            self.now -= 1
        self.accepted.extend(envelope.rcpt_tos)
        return "250 Message accepted for delivery"


@asynccontextmanager
async def serving_mail(handler: object) -> AsyncIterator[int]:
    """An aiosmtpd server with `handler` on a free loopback port (yielded), closed afterwards."""
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(handler, hostname="slow"), "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


@pytest.mark.parametrize("in_flight", [1, 4])
async def test_deliveries_overlap_up_to_the_bound(
    redis_client: redis.Redis, redis_url: str, clean_inbox: RunningInbox,
    run_dispatcher: RunDispatcher, in_flight: int,
) -> None:
    mail = SlowMailServer()
    jobs = [write_job(redis_client, "email", f"user{n}@example.com") for n in range(8)]
    async with serving_mail(mail) as port:
        settings = dispatcher_settings(redis_url, clean_inbox, SMTP_PORT=str(port),
                                       DISPATCH_MAX_IN_FLIGHT=str(in_flight),
                                       SMTP_MAX_CONNECTIONS="8")  # the bound tested is lower
        started = time.monotonic()
        async with run_dispatcher(settings):
            await eventually(lambda: outbox_is_empty(redis_client), timeout=20)
        took = time.monotonic() - started
    assert sorted(mail.accepted) == sorted(job.to for job in jobs)  # each exactly once
    assert mail.most == in_flight
    serial = len(jobs) * MAIL_SECONDS
    if in_flight > 1:  # 8 mails 4 at a time: two rounds, not eight
        assert took < serial * 0.75, f"{took:.2f}s for {len(jobs)} mails"
    assert redis_client.xlen(keys.DEAD_LETTER_STREAM) == 0


class OneSlowRecipient:
    """Takes SLOW_SECONDS for mail to slow@example.com, no time for anyone else; notes when each
    recipient's mail was accepted."""

    def __init__(self) -> None:
        self.accepted_at: dict[str, float] = {}

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if "slow@example.com" in envelope.rcpt_tos:
            await asyncio.sleep(SLOW_SECONDS)
        for to in envelope.rcpt_tos:
            self.accepted_at[to] = time.monotonic()
        return "250 Message accepted for delivery"


SLOW_SECONDS = 3.0


async def test_a_slow_delivery_does_not_hold_back_the_jobs_after_it(
    redis_client: redis.Redis, redis_url: str, clean_inbox: RunningInbox,
    run_dispatcher: RunDispatcher,
) -> None:
    """Jobs that arrive while one delivery is slow are delivered at once, not after it."""
    mail = OneSlowRecipient()
    async with serving_mail(mail) as port:
        settings = dispatcher_settings(redis_url, clean_inbox, SMTP_PORT=str(port),
                                       DISPATCH_MAX_IN_FLIGHT="4")
        async with run_dispatcher(settings):
            write_job(redis_client, "email", "slow@example.com")
            await asyncio.sleep(0.5)  # the slow one is in flight
            enqueued = time.monotonic()
            later = [write_job(redis_client, "email", f"later{n}@example.com").to
                     for n in range(3)]
            await eventually(lambda: outbox_is_empty(redis_client), timeout=20)
    assert set(mail.accepted_at) == {"slow@example.com", *later}
    for to in later:
        assert mail.accepted_at[to] - enqueued < SLOW_SECONDS / 2, f"{to} waited for the slow one"
        assert mail.accepted_at[to] < mail.accepted_at["slow@example.com"]


async def test_a_job_in_delivery_is_not_claimed_again_by_its_own_dispatcher(
    redis_client: redis.Redis, redis_url: str, clean_inbox: RunningInbox,
) -> None:
    """While a slow delivery runs, the same dispatcher scans for due retries; a renewal that
    comes late (here: never within the backoff) must not make it deliver its own job twice."""
    mail = SlowMailServer()
    client = async_client(redis_url)

    def renew_too_late(dispatcher: Dispatcher) -> None:
        dispatcher.lease_interval = 5.0  # renewals come far too late

    try:
        async with serving_mail(mail) as port:
            settings = dispatcher_settings(redis_url, clean_inbox, SMTP_PORT=str(port),
                                           DISPATCH_BACKOFF_BASE_SECONDS="0.02")
            async with dispatching(settings, client, renew_too_late):
                job = write_job(redis_client, "email", "once@example.com")
                await eventually(lambda: outbox_is_empty(redis_client), timeout=10)
                await asyncio.sleep(MAIL_SECONDS)  # a second delivery would be done by now
    finally:
        await client.aclose()
    assert mail.accepted == [job.to]
