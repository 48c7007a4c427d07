"""How far delivery is behind, as the dispatcher's metrics say: jobs not read yet (the lag), jobs
read and not settled, and the age of the oldest unread job; and the time each delivery took."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis

from services.dispatcher import runner
from services.dispatcher.outbox import Outbox
from tests.integration.dispatcher.support import (
    async_client,
    closed_port,
    dispatcher_settings,
    dispatching,
    eventually,
    write_job,
)
from tests.support.devinbox import RunningInbox


async def test_backlog_counts_unread_and_pending_jobs(
    redis_client: redis.Redis, redis_url: str, redis_cluster: bool,
) -> None:
    client = async_client(redis_url)
    outbox = Outbox(client, "backlog-test", redis_cluster)
    try:
        await outbox.ensure_group()
        empty = await outbox.backlog(int(time.time() * 1000))
        assert (empty.unread, empty.pending, empty.oldest_unread_seconds) == (0, 0, 0.0)

        for n in range(6):
            write_job(redis_client, "sms", f"+1415557{n:04d}")
        await asyncio.sleep(0.3)
        backlog = await outbox.backlog(int(time.time() * 1000))
        assert (backlog.unread, backlog.pending) == (6, 0)
        assert 0.25 <= backlog.oldest_unread_seconds < 10

        read = await outbox.read_new(None, 1)  # one per stream: a job from each bucket hit
        assert read
        backlog = await outbox.backlog(int(time.time() * 1000))
        assert (backlog.unread, backlog.pending) == (6 - len(read), len(read))
        for entry in read:
            await outbox.settle(entry)
        backlog = await outbox.backlog(int(time.time() * 1000))
        assert (backlog.unread, backlog.pending) == (6 - len(read), 0)
    finally:
        await client.aclose()


async def test_the_gauges_follow_the_backlog_and_deliveries_are_timed(
    redis_client: redis.Redis, redis_url: str, clean_inbox: RunningInbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Email cannot be delivered (nothing listens at its port): those jobs stay pending for a
    retry a minute later; SMS is delivered, and timed."""
    monkeypatch.setattr(runner, "BACKLOG_INTERVAL_SECONDS", 0.1)
    settings = dispatcher_settings(redis_url, clean_inbox, SMTP_PORT=str(closed_port()),
                                   DISPATCH_BACKOFF_BASE_SECONDS="60")
    client = async_client(redis_url)
    try:
        async with dispatching(settings, client) as metrics:
            def sample(name: str, labels: dict[str, str] | None = None) -> float | None:
                return metrics.registry.get_sample_value(name, labels or {})

            for n in range(3):
                write_job(redis_client, "email", f"user{n}@example.com")
            for n in range(2):
                write_job(redis_client, "sms", f"+1415558{n:04d}")
            await eventually(lambda: sample("dispatcher_jobs_total", {"outcome": "retry"}) == 3
                             and sample("dispatcher_jobs_total", {"outcome": "delivered"}) == 2)
            await eventually(lambda: sample("dispatcher_outbox_pending") == 3)
            assert sample("dispatcher_outbox_unread") == 0
            assert sample("dispatcher_outbox_oldest_unread_seconds") == 0
            assert sample("dispatcher_delivery_seconds_count", {"channel": "sms"}) == 2
            assert sample("dispatcher_delivery_seconds_count", {"channel": "email"}) is None
            assert 0 < (sample("dispatcher_delivery_seconds_sum", {"channel": "sms"}) or 0) < 5
    finally:
        await client.aclose()
