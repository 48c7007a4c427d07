"""Redis full (maxmemory, noeviction): the dispatcher keeps running, settles what it delivered
(a delivered job is never delivered again), and waits out the writes Redis refuses."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
import redis

from devtools.redis_server import start_embedded
from tests.integration.dispatcher.conftest import RunDispatcher
from tests.integration.dispatcher.support import (
    dispatcher_settings,
    eventually,
    outbox_is_empty,
    write_job,
)
from tests.support.devinbox import RunningInbox
from tests.support.redis_memory import out_of_memory

ONE_NODE = {"REDIS_CLUSTER": "0"}  # the server below is a single node, whatever the session's is


@pytest.fixture
def own_redis() -> Iterator[tuple[str, redis.Redis]]:
    server = start_embedded()  # its own: the session's server may be one the tests only flush
    client = redis.Redis.from_url(server.url, decode_responses=True)
    yield server.url, client
    client.close()
    server.stop()


async def test_a_job_delivered_while_redis_is_full_is_settled_once(
    clean_inbox: RunningInbox, run_dispatcher: RunDispatcher,
    own_redis: tuple[str, redis.Redis],
) -> None:
    url, client = own_redis
    async with run_dispatcher(dispatcher_settings(url, clean_inbox, **ONE_NODE)):  # makes the group
        first = write_job(client, "sms", "+14155550100")
        await eventually(lambda: len(clean_inbox.messages(first.to)) == 1)
    job = write_job(client, "sms", "+14155550101")
    with out_of_memory(client):
        async with run_dispatcher(dispatcher_settings(url, clean_inbox, **ONE_NODE)) as task:
            await eventually(lambda: len(clean_inbox.messages(job.to)) == 1)
            await eventually(lambda: outbox_is_empty(client))  # acknowledged while full
            await asyncio.sleep(0.5)  # many backoffs of DISPATCH_BACKOFF_BASE_SECONDS (0.05 s)
            assert not task.done()
    assert len(clean_inbox.messages(job.to)) == 1


async def test_a_dispatcher_starting_on_a_full_redis_waits_and_then_delivers(
    clean_inbox: RunningInbox, run_dispatcher: RunDispatcher,
    own_redis: tuple[str, redis.Redis], caplog: pytest.LogCaptureFixture,
) -> None:
    url, client = own_redis
    caplog.set_level(logging.INFO)
    with out_of_memory(client):  # an empty server: XGROUP CREATE MKSTREAM is refused
        async with run_dispatcher(dispatcher_settings(url, clean_inbox, **ONE_NODE)) as task:
            await eventually(lambda: "Redis is out of memory" in caplog.text)
            await asyncio.sleep(0.5)
            assert not task.done()
            full = [r for r in caplog.records if "out of memory" in r.getMessage()]
            assert {r.levelname for r in full} == {"WARNING"}
    async with run_dispatcher(dispatcher_settings(url, clean_inbox, **ONE_NODE)):
        job = write_job(client, "sms", "+14155550102")
        await eventually(lambda: len(clean_inbox.messages(job.to)) == 1)
        await eventually(lambda: outbox_is_empty(client))
