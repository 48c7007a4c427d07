"""Redis going away and coming back, and SIGTERM during a slow delivery."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller

from devtools.redis_cluster import local_cluster, slot_of
from devtools.redis_server import free_port, start_embedded
from services.verification import keys
from tests.integration.dispatcher.conftest import RunDispatcher
from tests.integration.dispatcher.support import (
    dispatcher_env,
    dispatcher_settings,
    eventually,
    outbox_is_empty,
    start_dispatcher,
    write_job,
)
from tests.support.devinbox import RunningInbox


async def test_redis_outage_is_survived_and_recovered_from(
    clean_inbox: RunningInbox, run_dispatcher: RunDispatcher, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    port = free_port()
    server = start_embedded(port)  # a private server: this test stops it
    client = redis.Redis.from_url(server.url, decode_responses=True)
    try:
        # The private server is a single node, whatever the session's Redis is.
        settings = dispatcher_settings(server.url, clean_inbox, REDIS_CLUSTER="0")
        async with run_dispatcher(settings) as task:
            before = write_job(client, "sms", "+14155550100")
            await eventually(lambda: len(clean_inbox.messages(before.to)) == 1)
            await eventually(lambda: outbox_is_empty(client))  # acknowledged, not just sent

            server.stop()
            await eventually(lambda: "Redis unavailable" in caplog.text)
            await asyncio.sleep(0.5)  # several failed rounds, backing off
            assert not task.done()

            server = start_embedded(port)  # back, empty: the group must be made again
            after = write_job(client, "sms", "+14155550101")
            await eventually(lambda: len(clean_inbox.messages(after.to)) == 1, timeout=15)
            await eventually(lambda: outbox_is_empty(client))
            assert "Redis is reachable again" in caplog.text
    finally:
        client.close()
        server.stop()
    assert before.code not in caplog.text and after.code not in caplog.text


class SlowHandler:
    """A real SMTP server that takes its time to accept a mail."""

    def __init__(self) -> None:
        self.receiving = threading.Event()
        self.accepted: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.receiving.set()
        await asyncio.sleep(1.0)
        self.accepted.append(envelope.content)
        return "250 OK"


@pytest.fixture
def slow_smtp() -> Iterator[tuple[SlowHandler, int]]:
    handler = SlowHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def test_sigterm_finishes_the_delivery_in_flight(
    redis_client: redis.Redis, redis_url: str, clean_inbox: RunningInbox,
    slow_smtp: tuple[SlowHandler, int],
) -> None:
    handler, port = slow_smtp
    job = write_job(redis_client, "email", "ada@example.com")
    env = dispatcher_env(redis_url, clean_inbox, SMTP_PORT=str(port))
    process = start_dispatcher(env)
    try:
        assert handler.receiving.wait(timeout=15), "the dispatcher never started the delivery"
        process.signal(signal.SIGTERM)
        started = time.monotonic()
        process.wait(timeout=10)
    finally:
        process.stop()
    output = process.tail(10_000)
    assert process.returncode == 0, output
    assert time.monotonic() - started < 5
    assert len(handler.accepted) == 1 and job.code.encode() in handler.accepted[0]
    assert redis_client.xlen(job.stream) == 0  # acknowledged and deleted before exit
    assert redis_client.xpending(job.stream, keys.OUTBOX_GROUP)["pending"] == 0
    assert "stopped" in output and job.code not in output


async def test_a_slow_delivery_is_not_retried_by_another_dispatcher(
    redis_client: redis.Redis, redis_url: str, clean_inbox: RunningInbox,
    run_dispatcher: RunDispatcher, slow_smtp: tuple[SlowHandler, int],
) -> None:
    """The delivery takes 20 times the backoff; its lease keeps the second consumer off it."""
    handler, port = slow_smtp
    job = write_job(redis_client, "email", "ada@example.com")
    first = dispatcher_settings(redis_url, clean_inbox, SMTP_PORT=str(port),
                                DISPATCH_CONSUMER_NAME="first")
    second = dispatcher_settings(redis_url, clean_inbox, SMTP_PORT=str(port),
                                 DISPATCH_CONSUMER_NAME="second")
    async with run_dispatcher(first), run_dispatcher(second):
        await eventually(lambda: outbox_is_empty(redis_client))
    assert len(handler.accepted) == 1 and job.code.encode() in handler.accepted[0]


async def test_a_primary_failing_over_mid_delivery_neither_repeats_the_job_nor_stops_the_dispatcher(
    clean_inbox: RunningInbox, run_dispatcher: RunDispatcher,
    slow_smtp: tuple[SlowHandler, int],
) -> None:
    """The job's bucket loses its primary (SIGKILL) while the mail is being sent; its replica
    takes over. The dispatcher settles the delivered job once the cluster answers again,
    whatever the dead node's error was (a lost connection, a cluster error, a closed transport:
    outage.py), and goes on."""
    handler, port = slow_smtp
    with local_cluster(primaries=3, replicas=1, node_timeout_ms=1000) as cluster:
        admin = cluster.client()
        job = write_job(admin, "email", "ada@example.com")
        settings = dispatcher_settings(cluster.url, clean_inbox, REDIS_CLUSTER="1",
                                       SMTP_PORT=str(port), DISPATCH_BACKOFF_BASE_SECONDS="1.0")
        async with run_dispatcher(settings) as task:
            assert await asyncio.to_thread(handler.receiving.wait, 15), "no delivery started"
            failover = await asyncio.to_thread(cluster.kill_primary, slot_of(job.stream))
            assert failover.promoted is not None
            buckets = tuple(keys.v3_outbox_streams())
            await eventually(lambda: outbox_is_empty(admin, buckets), timeout=30)
            later = write_job(admin, "email", "grace@example.com")
            await eventually(lambda: len(handler.accepted) >= 2, timeout=30)
            await eventually(lambda: outbox_is_empty(admin, buckets), timeout=30)
            assert not task.done()
    assert len(handler.accepted) == 2, [len(mail) for mail in handler.accepted]
    assert job.code.encode() in handler.accepted[0]
    assert later.code.encode() in handler.accepted[1]
