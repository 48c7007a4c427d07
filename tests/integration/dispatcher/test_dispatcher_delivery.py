"""The dispatcher delivers outbox jobs to a real dev inbox (SMS over HTTP, email over SMTP)."""

from __future__ import annotations

import logging
import re
import urllib.request

import pytest
import redis

from devtools.redis_server import free_port
from services.verification import keys
from tests.integration.dispatcher.conftest import RunDispatcher
from tests.integration.dispatcher.support import (
    ALL_OUTBOX_STREAMS,
    dispatcher_settings,
    eventually,
    outbox_is_empty,
    record_of,
    write_job,
    write_v2_job,
)
from tests.support.devinbox import RunningInbox

CODE_IN_TEXT = re.compile(r"code is (\d{4,10})")


async def test_sms_and_email_codes_arrive_and_jobs_are_deleted(
    redis_client: redis.Redis, redis_url: str, clean_inbox: RunningInbox,
    run_dispatcher: RunDispatcher, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sms = write_job(redis_client, "sms", "+14155550100")
    email = write_job(redis_client, "email", "ada.lovelace@example.com")
    records_before = {job: record_of(redis_client, job) for job in (sms, email)}

    async with run_dispatcher(dispatcher_settings(redis_url, clean_inbox)):
        await eventually(lambda: outbox_is_empty(redis_client))

    [text] = clean_inbox.messages("+14155550100")
    assert text["channel"] == "sms"
    assert text["body"] == f"Your verification code is {sms.code}. It expires in 10 minutes."
    [mail] = clean_inbox.messages("Ada.Lovelace@Example.com")
    assert mail["subject"] == "Your verification code"
    match = CODE_IN_TEXT.search(mail["body"])
    assert match is not None and match.group(1) == email.code
    for job, before in records_before.items():
        assert redis_client.xrange(job.stream) == []  # the sealed code left the stream
        assert record_of(redis_client, job) == before
    assert redis_client.xlen(keys.DEAD_LETTER_STREAM) == 0
    assert sms.code not in caplog.text and email.code not in caplog.text


async def test_jobs_enqueued_while_running_are_delivered(
    redis_client: redis.Redis, redis_url: str, clean_inbox: RunningInbox,
    run_dispatcher: RunDispatcher,
) -> None:
    async with run_dispatcher(dispatcher_settings(redis_url, clean_inbox)):
        # A stream made by MKSTREAM gets a TTL (just after it is made: waited for).
        await eventually(lambda: all(0 < redis_client.pttl(stream) <= keys.STREAM_TTL_MS
                                     for stream in ALL_OUTBOX_STREAMS))
        for stream in ALL_OUTBOX_STREAMS:
            [group] = redis_client.xinfo_groups(stream)
            assert group["name"] == keys.OUTBOX_GROUP
        jobs = [write_job(redis_client, "sms", f"+1415555{index:04d}") for index in range(5)]
        await eventually(lambda: len(clean_inbox.messages()) == 5)
        await eventually(lambda: outbox_is_empty(redis_client))
    for job in jobs:
        [message] = clean_inbox.messages(job.to)
        assert job.code in message["body"]


async def test_finished_expired_or_missing_verifications_are_not_delivered(
    redis_client: redis.Redis, redis_url: str, clean_inbox: RunningInbox,
    run_dispatcher: RunDispatcher, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    approved = write_job(redis_client, "sms", "+14155550001", status="approved")
    canceled = write_job(redis_client, "email", "canceled@example.com", status="canceled")
    expired = write_job(redis_client, "sms", "+14155550002", expires_in_ms=-1)
    missing = write_job(redis_client, "sms", "+14155550003")
    redis_client.delete(missing.record_key)
    # A newer verification of the destination took the key: the older one's job is not sent.
    replaced = write_job(redis_client, "sms", "+14155550005")
    newer = write_job(redis_client, "sms", "+14155550005")
    other_owner = write_job(redis_client, "sms", "+14155550006", owner="globex")
    live = write_job(redis_client, "sms", "+14155550004")

    async with run_dispatcher(dispatcher_settings(redis_url, clean_inbox)):
        await eventually(lambda: outbox_is_empty(redis_client))

    delivered = sorted((m["to"].lower(), m["body"]) for m in clean_inbox.messages())
    assert [to for to, _ in delivered] == sorted([live.to, newer.to, other_owner.to])
    assert {job.code for job in (live, newer, other_owner)} == {
        CODE_IN_TEXT.findall(body)[0] for _, body in delivered}
    assert redis_client.xlen(keys.DEAD_LETTER_STREAM) == 0
    for job, reason in [(approved, "approved"), (canceled, "canceled"), (expired, "expired"),
                        (missing, "gone"), (replaced, "replaced")]:
        assert f"{job.verification_id} not delivered: the verification is {reason}" in caplog.text
    assert record_of(redis_client, approved) is not None


@pytest.mark.single_node("version-2 data: a cluster has no vfy:outbox and no version-2 records")
async def test_version_2_jobs_are_delivered_while_live_only(
    redis_client: redis.Redis, redis_url: str, clean_inbox: RunningInbox,
    run_dispatcher: RunDispatcher, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    v2_approved = write_v2_job(redis_client, "sms", "+14155550007", status="approved")
    v2_live = write_v2_job(redis_client, "email", "v2@example.com")
    live = write_job(redis_client, "sms", "+14155550004")  # read with the version-2 stream

    async with run_dispatcher(dispatcher_settings(redis_url, clean_inbox)):
        await eventually(lambda: outbox_is_empty(redis_client))

    delivered = sorted((m["to"].lower(), m["body"]) for m in clean_inbox.messages())
    assert [to for to, _ in delivered] == sorted([live.to, v2_live.to])
    assert {job.code for job in (live, v2_live)} == {
        CODE_IN_TEXT.findall(body)[0] for _, body in delivered}
    assert redis_client.xlen(keys.DEAD_LETTER_STREAM) == 0
    assert f"{v2_approved.verification_id} not delivered: the verification is approved" in (
        caplog.text)
    assert record_of(redis_client, v2_approved) is not None


async def test_smtp_login_and_metrics(
    redis_client: redis.Redis, redis_url: str, clean_inbox: RunningInbox,
    run_dispatcher: RunDispatcher,
) -> None:
    """SES-style settings (username and password) work against the dev inbox; /metrics counts."""
    job = write_job(redis_client, "email", "ses@example.com")
    skipped = write_job(redis_client, "sms", "+14155550009", status="canceled")
    metrics_port = free_port()
    settings = dispatcher_settings(
        redis_url, clean_inbox, SMTP_USERNAME="AKIAEXAMPLE", SMTP_PASSWORD="smtp-secret",
        DISPATCH_METRICS_PORT=str(metrics_port),
    )
    async with run_dispatcher(settings):
        await eventually(lambda: outbox_is_empty(redis_client))
        url = f"http://127.0.0.1:{metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            metrics = response.read().decode()
    [mail] = clean_inbox.messages(job.to)
    assert job.code in mail["body"]
    assert clean_inbox.messages(skipped.to) == []
    assert 'dispatcher_jobs_total{outcome="delivered"} 1.0' in metrics
    assert 'dispatcher_jobs_total{outcome="skipped"} 1.0' in metrics
