"""The SMS-pumping guards on real Redis (docs/api.md "SMS-pumping guards"), with small settings:
prefix velocity, the conversion guard and the global SMS circuit breaker."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import redis

from services.verification import crypto, keys
from tests.integration.services.support import (
    PEPPER,
    Api,
    all_keys,
    make_settings,
    outbox_jobs,
    running_api,
    wrong_code,
)

# Numbers of one prefix (+1415555), of another (+1415556), and an email.
SAME_PREFIX = ["+14155550100", "+14155550101", "+14155550102", "+14155550103", "+14155550104",
               "+14155550105", "+14155550106"]
OTHER_PREFIX = "+14155560100"
EMAIL = "someone@example.com"
PREFIX_HASH = crypto.prefix_hash(PEPPER, SAME_PREFIX[0])


def guarded(redis_url: str, **overrides: Any) -> Any:
    """Settings with resends allowed at once, so that resends can be counted."""
    return make_settings(redis_url, resend_cooldown_seconds=0, **overrides)


def assert_refused(response: httpx.Response, code: str, retry_after_s: int) -> None:
    """A 429 with the code and a Retry-After within a few seconds below `retry_after_s`."""
    assert response.status_code == 429, response.text
    assert response.json()["code"] == code
    assert retry_after_s - 5 < int(response.headers["Retry-After"]) <= retry_after_s


def redis_now_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def current_bucket(api: Api) -> int:
    """The tally bucket of now, after waiting out a bucket boundary that is near."""
    bucket_ms = keys.tally_bucket_ms(api.settings.prefix_guard_window_seconds)
    if bucket_ms - redis_now_ms(api.redis) % bucket_ms < 3000:
        time.sleep(3)
    return redis_now_ms(api.redis) // bucket_ms


def assert_counted_nothing(api: Api, counter: str) -> None:
    """A refused send left the counter as it was: on a single node the send script never counted
    it; in cluster mode a reserve counted it and the refund gave it back (contract "Cluster
    mode": the key stays, at 0, until its window ends)."""
    assert api.redis.get(counter) == ("0" if api.settings.redis_cluster else None)


def tally(api: Api, prefix_hash: str = PREFIX_HASH) -> dict[str, str]:
    """The tally's bucket fields (its `block` field aside)."""
    fields: dict[str, str] = api.redis.hgetall(keys.tally_key(prefix_hash))  # type: ignore[assignment]
    return {field: value for field, value in fields.items() if field != keys.TALLY_BLOCK_FIELD}


async def test_prefix_velocity_counts_new_sends_and_resends_per_prefix(
    redis_url: str, redis_client: redis.Redis
) -> None:
    async with running_api(redis_client, guarded(redis_url, sms_prefix_limit=3)) as api:
        assert (await api.start(SAME_PREFIX[0])).status_code == 201
        assert (await api.start(SAME_PREFIX[0])).status_code == 200  # a resend counts
        assert (await api.start(SAME_PREFIX[1])).status_code == 201
        assert_refused(await api.start(SAME_PREFIX[2]), "prefix_rate_limited", 3600)
        assert_refused(await api.start(SAME_PREFIX[0]), "prefix_rate_limited", 3600)  # resend
        assert (await api.start(OTHER_PREFIX)).status_code == 201
        assert (await api.start(EMAIL, "email")).status_code == 201
        # The refusals counted nothing: not the prefix, the breaker, nor the other limits.
        counter = keys.prefix_limit_key(PREFIX_HASH)
        assert api.redis.get(counter) == "3"
        assert 3_590_000 < api.redis.pttl(counter) <= 3_600_000
        assert api.redis.get(keys.SMS_LIMIT_KEY) == "4"
        dest = crypto.dest_hash(PEPPER, "sms", SAME_PREFIX[2])
        assert_counted_nothing(api, keys.dest_limit_key(dest))
        assert len(outbox_jobs(api.redis)) == 5


async def test_the_problem_of_each_guard_has_the_documented_words(
    redis_url: str, redis_client: redis.Redis
) -> None:
    async with running_api(redis_client, guarded(redis_url, sms_prefix_limit=1)) as api:
        await api.start(SAME_PREFIX[0])
        refused = await api.start(SAME_PREFIX[1])
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json() == {
            "type": "urn:problem:verify:prefix_rate_limited",
            "title": "Too many messages to this number range", "status": 429,
            "detail": "Too many SMS were sent to numbers like this one; retry later.",
            "code": "prefix_rate_limited"}


async def test_unapproved_prefix_is_blocked_and_stays_blocked(
    redis_url: str, redis_client: redis.Redis
) -> None:
    settings = guarded(redis_url, prefix_guard_min_sms=4, prefix_guard_min_approved_percent=50,
                       prefix_guard_block_seconds=120)
    async with running_api(redis_client, settings) as api:
        bucket = current_bucket(api)
        ids = [(await api.start(to)).json()["id"] for to in SAME_PREFIX[:3]]
        assert (await api.start(SAME_PREFIX[0])).status_code == 200  # resends are not "created"
        assert tally(api) == {f"s:{bucket}": "3"}
        ids.append((await api.start(SAME_PREFIX[3])).json()["id"])
        assert tally(api) == {f"s:{bucket}": "4"}
        ttl = api.redis.pttl(keys.tally_key(PREFIX_HASH))
        assert 86_390_000 < ttl <= 86_400_000
        # Four created, none approved: the next SMS send blocks the prefix and is refused.
        assert_refused(await api.start(SAME_PREFIX[4]), "prefix_blocked", 120)
        # Written both ways while version-2 data can exist: the tally's field and v2's key; in
        # cluster mode (no version-2 data) the field only.
        blocked_until = int(str(api.redis.hget(keys.tally_key(PREFIX_HASH),
                                               keys.TALLY_BLOCK_FIELD)))
        assert 115_000 < blocked_until - redis_now_ms(api.redis) <= 120_000
        block = keys.block_key(PREFIX_HASH)
        if api.settings.redis_cluster:
            assert api.redis.exists(block) == 0
        else:
            assert api.redis.get(block) == "1"
            assert 115_000 < api.redis.pttl(block) <= 120_000
        assert_refused(await api.start(SAME_PREFIX[1]), "prefix_blocked", 120)  # resends too
        # Approvals that come later do not lift the block.
        for verification_id in ids:
            approved = await api.check(api.code_for(verification_id),
                                       verification_id=verification_id)
            assert approved.json()["status"] == "approved"
        assert tally(api) == {f"s:{bucket}": "4", f"a:{bucket}": "4"}
        assert_refused(await api.start(SAME_PREFIX[5]), "prefix_blocked", 120)
        # The refusals counted nothing, and other prefixes and emails pass.
        assert tally(api) == {f"s:{bucket}": "4", f"a:{bucket}": "4"}
        assert api.redis.get(keys.prefix_limit_key(PREFIX_HASH)) == "5"
        assert api.redis.get(keys.SMS_LIMIT_KEY) == "5"
        assert (await api.start(OTHER_PREFIX)).status_code == 201
        assert (await api.start(EMAIL, "email")).status_code == 201
        assert api.redis.get(keys.SMS_LIMIT_KEY) == "6"


async def test_approvals_by_id_and_by_to_keep_the_prefix_open(
    redis_url: str, redis_client: redis.Redis
) -> None:
    settings = guarded(redis_url, prefix_guard_min_sms=4, prefix_guard_min_approved_percent=50)
    async with running_api(redis_client, settings) as api:
        bucket = current_bucket(api)
        ids = [(await api.start(to)).json()["id"] for to in SAME_PREFIX[:4]]
        by_id = await api.check(api.code_for(ids[0]), verification_id=ids[0])
        assert by_id.json()["status"] == "approved"
        assert tally(api)[f"a:{bucket}"] == "1"
        by_to = await api.check(api.code_for(ids[1]), to=SAME_PREFIX[1])
        assert by_to.json()["status"] == "approved"
        assert tally(api) == {f"s:{bucket}": "4", f"a:{bucket}": "2"}
        # 2 of 4 is 50 percent: at the minimum, the prefix stays open.
        assert (await api.start(SAME_PREFIX[4])).status_code == 201
        # 2 of 5 is below it: the next send blocks the prefix.
        assert_refused(await api.start(SAME_PREFIX[5]), "prefix_blocked",
                       settings.prefix_guard_block_seconds)
        # A wrong code is no approval.
        await api.check(wrong_code(api.code_for(ids[2])), verification_id=ids[2])
        assert tally(api)[f"a:{bucket}"] == "2"


async def test_the_tally_counts_its_last_24_buckets_and_drops_older_ones(
    redis_url: str, redis_client: redis.Redis
) -> None:
    settings = guarded(redis_url, prefix_guard_min_sms=3, prefix_guard_min_approved_percent=50)
    async with running_api(redis_client, settings) as api:
        bucket = current_bucket(api)
        # Written as another side would have: 100 dead sends, 2 counted ones 23 buckets ago.
        api.redis.hset(keys.tally_key(PREFIX_HASH), mapping={
            f"s:{bucket - 24}": 100, f"a:{bucket - 30}": 1, f"s:{bucket - 23}": 2})
        assert (await api.start(SAME_PREFIX[0])).status_code == 201  # 2 counted: open
        assert tally(api) == {f"s:{bucket - 23}": "2", f"s:{bucket}": "1"}
        assert_refused(await api.start(SAME_PREFIX[1]), "prefix_blocked",
                       settings.prefix_guard_block_seconds)  # 3 counted, none approved


async def test_the_circuit_breaker_counts_every_sms(
    redis_url: str, redis_client: redis.Redis
) -> None:
    async with running_api(redis_client, guarded(redis_url, sms_global_limit=3)) as api:
        assert (await api.start(SAME_PREFIX[0])).status_code == 201
        assert (await api.start(SAME_PREFIX[0])).status_code == 200  # a resend counts
        assert (await api.start(OTHER_PREFIX)).status_code == 201
        assert_refused(await api.start("+33612345678"), "sms_capacity_exceeded", 60)
        assert_refused(await api.start(SAME_PREFIX[1]), "sms_capacity_exceeded", 60)
        assert (await api.start(EMAIL, "email")).status_code == 201
        assert api.redis.get(keys.SMS_LIMIT_KEY) == "3"
        assert 55_000 < api.redis.pttl(keys.SMS_LIMIT_KEY) <= 60_000
        french = crypto.prefix_hash(PEPPER, "+33612345678")
        assert_counted_nothing(api, keys.prefix_limit_key(french))
        if api.settings.redis_cluster:  # reserved, then given back: every bucket at 0
            assert set(tally(api, french).values()) == {"0"}
        else:
            assert api.redis.exists(keys.tally_key(french)) == 0


async def test_a_send_refused_by_a_rate_limit_counts_in_no_guard(
    redis_url: str, redis_client: redis.Redis
) -> None:
    async with running_api(redis_client, guarded(redis_url, dest_limit=1)) as api:
        assert (await api.start(SAME_PREFIX[0])).status_code == 201
        assert (await api.start(SAME_PREFIX[0])).json()["code"] == "rate_limited"
        assert api.redis.get(keys.prefix_limit_key(PREFIX_HASH)) == "1"
        assert api.redis.get(keys.SMS_LIMIT_KEY) == "1"


async def test_the_tally_block_field_refuses(redis_url: str, redis_client: redis.Redis) -> None:
    """Version 3's block: the tally's `block` field, until its time has passed."""
    async with running_api(redis_client, guarded(redis_url)) as api:
        api.redis.hset(keys.tally_key(PREFIX_HASH), keys.TALLY_BLOCK_FIELD,
                       redis_now_ms(api.redis) + 100_000)
        assert_refused(await api.start(SAME_PREFIX[0]), "prefix_blocked", 100)
        api.redis.hset(keys.tally_key(PREFIX_HASH), keys.TALLY_BLOCK_FIELD,
                       redis_now_ms(api.redis) - 1)
        assert (await api.start(SAME_PREFIX[0])).status_code == 201


@pytest.mark.single_node("version 2's block key: honoured only where version-2 data can exist")
async def test_either_guard_block_refuses(redis_url: str, redis_client: redis.Redis) -> None:
    """The block is honoured either way: v3's tally field, or version 2's block key."""
    async with running_api(redis_client, guarded(redis_url)) as api:
        api.redis.hset(keys.tally_key(PREFIX_HASH), keys.TALLY_BLOCK_FIELD,
                       redis_now_ms(api.redis) + 100_000)
        assert_refused(await api.start(SAME_PREFIX[0]), "prefix_blocked", 100)
        api.redis.delete(keys.tally_key(PREFIX_HASH))
        api.redis.set(keys.block_key(PREFIX_HASH), "1", px=50_000)
        assert_refused(await api.start(SAME_PREFIX[0]), "prefix_blocked", 50)
        api.redis.delete(keys.block_key(PREFIX_HASH))
        assert (await api.start(SAME_PREFIX[0])).status_code == 201


async def test_emails_pass_no_guard(redis_url: str, redis_client: redis.Redis) -> None:
    settings = guarded(redis_url, sms_prefix_limit=1, sms_global_limit=1, prefix_guard_min_sms=1,
                       prefix_guard_min_approved_percent=100)
    async with running_api(redis_client, settings) as api:
        sms = (await api.start(SAME_PREFIX[0])).json()["id"]
        assert (await api.check(api.code_for(sms), verification_id=sms)).status_code == 200
        emails = [(await api.start(f"user{n}@example.com", "email")).json() for n in range(3)]
        for email in emails:
            assert email["status"] == "pending"
            approved = await api.check(api.code_for(email["id"]), verification_id=email["id"])
            assert approved.json()["status"] == "approved"
        assert api.redis.get(keys.SMS_LIMIT_KEY) == "1"
        assert all_keys(api.redis, "vfy:fg:*") == [keys.tally_key(PREFIX_HASH)]  # the SMS's


@pytest.mark.single_node("a version-2 record: a cluster holds none")
async def test_a_record_without_prefix_hash_tallies_no_approval(
    redis_url: str, redis_client: redis.Redis
) -> None:
    """A version-2 record without the field is approved without touching a tally."""
    async with running_api(redis_client, guarded(redis_url, storage_write_version=2)) as api:
        verification_id = (await api.start(SAME_PREFIX[0])).json()["id"]
        api.redis.hdel(keys.record_key(verification_id), "prefix_hash")
        api.redis.delete(keys.tally_key(PREFIX_HASH))
        approved = await api.check(api.code_for(verification_id), to=SAME_PREFIX[0])
        assert approved.json()["status"] == "approved"
        assert api.redis.exists(keys.tally_key(PREFIX_HASH)) == 0
