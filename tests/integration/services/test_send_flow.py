"""POST /api/verifications in Redis: a resend's delivery job, and a refused resend writes nothing.

The API rules of sending are the contract suite's (contract_tests/test_send.py).
"""

from __future__ import annotations

import redis

from services.verification import crypto, keys
from tests.integration.services.support import (
    CLIENT,
    PEPPER,
    PHONE,
    Api,
    make_settings,
    outbox_jobs,
    running_api,
)


async def test_a_resend_enqueues_the_same_code_and_counts_toward_the_limit(
    redis_url: str, redis_client: redis.Redis
) -> None:
    settings = make_settings(redis_url, resend_cooldown_seconds=0)
    async with running_api(redis_client, settings) as api:
        first = (await api.start()).json()
        first_code = api.code_for(first["id"])
        assert (await api.start()).status_code == 200
        jobs = outbox_jobs(redis_client)
        assert [job["send_attempt"] for job in jobs] == ["1", "2"]
        assert {job["client"] for job in jobs} == {CLIENT}  # v3 jobs name their record's owner
        outbox = keys.v3_outbox_stream(keys.v3_bucket_of_id(first["id"]))
        assert redis_client.xlen(outbox) == 2
        assert api.code_for(first["id"]) == first_code
        dest = crypto.dest_hash(PEPPER, "sms", PHONE)
        assert redis_client.get(keys.dest_limit_key(dest)) == "2"


async def test_a_refused_resend_writes_no_job_and_no_count(api: Api) -> None:
    await api.start()
    assert (await api.start()).status_code == 429  # within the default 30 s cooldown
    dest = crypto.dest_hash(PEPPER, "sms", PHONE)
    assert api.redis.get(keys.dest_limit_key(dest)) == "1"
    assert len(outbox_jobs(api.redis)) == 1
