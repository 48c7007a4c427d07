"""Several dispatchers share the 64 version-3 outbox buckets (and vfy:outbox on one node): every
job is delivered by exactly one of them, on a single node and on a real Redis Cluster."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter

import pytest
import redis
from redis.asyncio.cluster import RedisCluster

from devtools.redis_cluster import local_cluster
from services.dispatcher.metrics import DispatchMetrics
from services.dispatcher.outbox import Outbox
from services.verification import keys
from tests.integration.dispatcher.support import (
    AnyRedis,
    Job,
    async_client,
    closed_port,
    dead_letters,
    dispatcher_settings,
    dispatching,
    eventually,
    outbox_is_empty,
    write_job,
    write_v2_job,
)
from tests.support.devinbox import RunningInbox

JOBS = 90
# The production default. The dispatchers here share one event loop with the test's blocking
# polls: a stall longer than a 50 ms backoff would let a consumer retry a job another one holds
# (at least once: allowed, but not what this test measures).
SHARING = {"DISPATCH_BACKOFF_BASE_SECONDS": "1.0"}
DELIVERED_LINE = re.compile(r"job \S+ for (VE[0-9a-f]{32}) delivered by")


def delivered(metrics: DispatchMetrics) -> int:
    value = metrics.registry.get_sample_value("dispatcher_jobs_total", {"outcome": "delivered"})
    return int(value or 0)


def many_jobs(client: AnyRedis, count: int, first: int = 0) -> list[Job]:
    """SMS and email jobs to distinct destinations, so spread over many buckets."""
    return [write_job(client, "email", f"user{n}@example.com") if n % 3 == 0
            else write_job(client, "sms", f"+1415556{n:04d}") for n in range(first, first + count)]


def assert_each_delivered_once(inbox: RunningInbox, jobs: list[Job], log_text: str) -> None:
    received = Counter(str(m["to"]).lower() for m in inbox.messages())
    assert received == Counter(job.to.lower() for job in jobs)
    for job in jobs:
        [message] = inbox.messages(job.to)
        assert job.code in message["body"]
    # The inbox drops a repeated delivery key, so count the deliveries made, not the kept ones.
    deliveries = Counter(DELIVERED_LINE.findall(log_text))
    assert deliveries == Counter(job.verification_id for job in jobs)


async def test_three_dispatchers_deliver_each_job_of_every_bucket_once(
    redis_client: redis.Redis, redis_url: str, redis_cluster: bool, clean_inbox: RunningInbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    # Version-2 jobs too where version-2 data can exist: on a single node (vfy:outbox).
    v2_jobs = [] if redis_cluster else [
        write_v2_job(redis_client, "sms", f"+1415557{n:04d}") for n in range(6)]
    jobs = [*many_jobs(redis_client, JOBS), *v2_jobs]
    assert len({job.stream for job in jobs}) >= 40  # spread over most of the 64 buckets
    clients = [async_client(redis_url) for _ in range(3)]
    try:
        async with dispatching(dispatcher_settings(redis_url, clean_inbox,
                                                   DISPATCH_CONSUMER_NAME="one", **SHARING),
                               clients[0]) as one, \
                dispatching(dispatcher_settings(redis_url, clean_inbox,
                                                DISPATCH_CONSUMER_NAME="two", **SHARING),
                            clients[1]) as two, \
                dispatching(dispatcher_settings(redis_url, clean_inbox,
                                                DISPATCH_CONSUMER_NAME="three", **SHARING),
                            clients[2]) as three:
            await eventually(lambda: outbox_is_empty(redis_client), timeout=30)
            later = many_jobs(redis_client, 12, first=JOBS)  # while all three block on new jobs
            await eventually(lambda: outbox_is_empty(redis_client), timeout=30)
    finally:
        for client in clients:
            await client.aclose()
    counts = [delivered(metrics) for metrics in (one, two, three)]
    assert sum(counts) == len(jobs) + len(later), counts
    assert_each_delivered_once(clean_inbox, jobs + later, caplog.text)
    assert redis_client.xlen(keys.DEAD_LETTER_STREAM) == 0


async def test_a_bucket_that_expired_with_its_group_is_consumed_again(
    redis_client: redis.Redis, redis_url: str, clean_inbox: RunningInbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = async_client(redis_url)
    try:
        async with dispatching(dispatcher_settings(redis_url, clean_inbox), client):
            first = write_job(redis_client, "sms", "+14155550100")
            await eventually(lambda: len(clean_inbox.messages(first.to)) == 1)
            redis_client.delete(first.stream)  # idle 7 days: gone, and its group with it
            again = write_job(redis_client, "sms", "+14155550100")  # same destination, bucket
            assert again.stream == first.stream
            await eventually(lambda: len(clean_inbox.messages(again.to)) == 2)
            await eventually(lambda: outbox_is_empty(redis_client))
    finally:
        await client.aclose()
    assert "Redis refused" not in caplog.text  # an expected event, handled without a pause
    assert 0 < redis_client.pttl(first.stream) <= keys.STREAM_TTL_MS
    bodies = [message["body"] for message in clean_inbox.messages(again.to)]
    assert [first.code in body for body in bodies].count(True) == 1
    assert [again.code in body for body in bodies].count(True) == 1


async def test_dispatchers_on_a_cluster_share_the_buckets(
    clean_inbox: RunningInbox, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    with local_cluster(primaries=3) as cluster:
        admin = cluster.client()
        jobs = many_jobs(admin, 60)
        canceled = write_job(admin, "sms", "+14155550999", status="canceled")
        settings = [dispatcher_settings(cluster.url, clean_inbox, REDIS_CLUSTER="1",
                                        DISPATCH_CONSUMER_NAME=name, **SHARING)
                    for name in ("one", "two")]
        clients = [RedisCluster.from_url(cluster.url, decode_responses=True) for _ in settings]
        buckets = tuple(keys.v3_outbox_streams())
        try:
            async with dispatching(settings[0], clients[0]) as one, \
                    dispatching(settings[1], clients[1]) as two:
                await eventually(lambda: outbox_is_empty(admin, buckets), timeout=30)
                later = many_jobs(admin, 10, first=60)  # while both poll empty streams
                await eventually(lambda: outbox_is_empty(admin, buckets), timeout=30)
            # A job no channel accepts: retried, then dead-lettered (another slot than its bucket).
            failing = write_job(admin, "email", "nobody@example.com")
            down = dispatcher_settings(cluster.url, clean_inbox, REDIS_CLUSTER="1",
                                       SMTP_PORT=str(closed_port()), DISPATCH_MAX_ATTEMPTS="2")
            async with dispatching(down, clients[0]):
                await eventually(lambda: admin.xlen(keys.DEAD_LETTER_STREAM) == 1, timeout=20)
                await eventually(lambda: outbox_is_empty(admin, buckets))
        finally:
            for client in clients:
                await client.aclose()
        assert sum(delivered(m) for m in (one, two)) == len(jobs) + len(later)
        assert_each_delivered_once(clean_inbox, jobs + later, caplog.text)
        assert clean_inbox.messages(canceled.to) == []
        assert clean_inbox.messages(failing.to) == []
        [dead] = dead_letters(admin)  # type: ignore[arg-type]
        assert (dead["verification_id"], dead["attempts"]) == (failing.verification_id, "2")
        assert "code_sealed" not in dead
        assert admin.exists(keys.OUTBOX_STREAM) == 0  # no version-2 stream read in a cluster
        for stream in buckets:
            assert 0 < admin.pttl(stream) <= keys.STREAM_TTL_MS


async def test_a_held_job_another_dispatcher_claimed_is_left_to_it(
    redis_client: redis.Redis, redis_url: str, redis_cluster: bool,
) -> None:
    """Renewing a lease never takes a job back from the consumer that claimed it meanwhile."""
    client = async_client(redis_url)
    try:
        first = Outbox(client, "first", redis_cluster)
        second = Outbox(client, "second", redis_cluster)
        await first.ensure_group()
        jobs = [write_job(redis_client, "sms", f"+1415558{n:04d}") for n in range(2)]
        read = await first.read_new(None)
        assert sorted(e.entry_id for e in read) == sorted(j.entry_id for j in jobs)
        stolen, kept = sorted(read, key=lambda e: e.entry_id != jobs[0].entry_id)
        await asyncio.sleep(0.06)  # both idle past a 50 ms backoff...
        assert await first.still_held(kept)  # ...but this one renewed in time
        [claimed] = await second.claim_due(lambda deliveries: 50 * deliveries)
        assert claimed.entry_id == stolen.entry_id and claimed.deliveries == 2

        assert not await first.still_held(stolen)
        assert await first.renew(read) == {(kept.stream.name, kept.entry_id)}
        [owner] = redis_client.xpending_range(stolen.stream.name, keys.OUTBOX_GROUP,
                                              stolen.entry_id, stolen.entry_id, 1)
        assert owner["consumer"] == "second"
    finally:
        await client.aclose()
