"""Delivery failures: retried with exponential backoff, then dead-lettered; nothing else changes."""

from __future__ import annotations

import itertools
import logging

import pytest
import redis

from services.verification import keys
from tests.integration.dispatcher.conftest import RunDispatcher
from tests.integration.dispatcher.support import (
    closed_port,
    dead_letters,
    dispatcher_settings,
    eventually,
    outbox_is_empty,
    record_of,
    write_job,
)
from tests.support.devinbox import RunningInbox

BASE = 0.05


async def test_smtp_down_retries_with_backoff_then_dead_letters(
    redis_client: redis.Redis, redis_url: str, clean_inbox: RunningInbox,
    run_dispatcher: RunDispatcher, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    job = write_job(redis_client, "email", "ada@example.com")
    record_before = record_of(redis_client, job)
    settings = dispatcher_settings(
        redis_url, clean_inbox, SMTP_PORT=str(closed_port()), DISPATCH_MAX_ATTEMPTS="4",
        DISPATCH_BACKOFF_BASE_SECONDS=str(BASE),
    )

    async with run_dispatcher(settings):
        await eventually(lambda: redis_client.xlen(keys.DEAD_LETTER_STREAM) == 1)
        await eventually(lambda: outbox_is_empty(redis_client))

    [dead] = dead_letters(redis_client)
    assert dead["attempts"] == "4"
    assert "code_sealed" not in dead
    assert "unreachable" in dead["error"]
    assert {name: dead[name] for name in ("verification_id", "channel", "to", "send_attempt")} == {
        "verification_id": job.verification_id, "channel": "email", "to": "ada@example.com",
        "send_attempt": "1",
    }
    assert dead["client"] == "acme"  # the job as it was, but its sealed code
    assert 0 < redis_client.pttl(keys.DEAD_LETTER_STREAM) <= keys.STREAM_TTL_MS
    assert record_of(redis_client, job) == record_before
    assert clean_inbox.messages() == []

    failures = [r for r in caplog.records if "delivery attempt" in r.getMessage()]
    dead_record = next(r for r in caplog.records if "dead-lettered" in r.getMessage())
    assert [f"attempt {n}/4" in r.getMessage() for n, r in enumerate(failures, 1)] == [True] * 3
    times = [r.created for r in [*failures, dead_record]]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # each wait at least its backoff (0.05, 0.1, 0.2), and growing: exponential, not fixed
    for gap, backoff in zip(gaps, [BASE, 2 * BASE, 4 * BASE], strict=True):
        assert gap >= backoff * 0.9, (gaps, backoff)
    assert gaps[2] > gaps[0]
    assert job.code not in caplog.text


async def test_dev_inbox_down_then_back_delivers_once(
    redis_client: redis.Redis, redis_url: str, clean_inbox: RunningInbox,
    run_dispatcher: RunDispatcher, caplog: pytest.LogCaptureFixture,
) -> None:
    """A failure that ends before the last attempt: the retry delivers, nothing is dead-lettered."""
    caplog.set_level(logging.DEBUG)
    job = write_job(redis_client, "sms", "+14155550100")
    nowhere = f"http://127.0.0.1:{closed_port()}"
    down = dispatcher_settings(
        redis_url, clean_inbox, DEVINBOX_URL=nowhere, DISPATCH_CONSUMER_NAME="first"
    )
    async with run_dispatcher(down):
        await eventually(lambda: "delivery attempt 1/3 failed" in caplog.text)
    up = dispatcher_settings(redis_url, clean_inbox, DISPATCH_CONSUMER_NAME="second")
    async with run_dispatcher(up):
        await eventually(lambda: outbox_is_empty(redis_client))

    [message] = clean_inbox.messages(job.to)
    assert job.code in message["body"]
    assert redis_client.xlen(keys.DEAD_LETTER_STREAM) == 0
    assert job.code not in caplog.text


async def test_seal_that_does_not_open_is_dead_lettered_at_once(
    redis_client: redis.Redis, redis_url: str, clean_inbox: RunningInbox,
    run_dispatcher: RunDispatcher,
) -> None:
    job = write_job(redis_client, "sms", "+14155550100")
    settings = dispatcher_settings(redis_url, clean_inbox, CODE_PEPPER="another-pepper")
    async with run_dispatcher(settings):
        await eventually(lambda: redis_client.xlen(keys.DEAD_LETTER_STREAM) == 1)

    [dead] = dead_letters(redis_client)
    assert dead["attempts"] == "1" and "does not open" in dead["error"]
    assert dead["verification_id"] == job.verification_id
    assert clean_inbox.messages() == []
