"""Expiry (reported, then written by check/cancel with its event) and a TTL on every key."""

from __future__ import annotations

import asyncio
import time

import redis

from services.verification import crypto, keys, packed
from tests.integration.services.support import (
    CLIENT,
    PEPPER,
    PHONE,
    Api,
    all_keys,
    dest_key,
    events,
    expire_early,
    make_settings,
    record,
    record_key,
    running_api,
)


async def test_expired_code_reads_expired_and_checks_404(
    redis_url: str, redis_client: redis.Redis
) -> None:
    async with running_api(redis_client, make_settings(redis_url, code_ttl_seconds=1)) as api:
        created = (await api.start()).json()
        code = api.code_for(created["id"])
        await asyncio.sleep(1.1)
        read = await api.send.get(f"/api/verifications/{created['id']}")
        assert read.json()["status"] == "expired"
        assert record(redis_client, created["id"]).status == "pending"  # reading writes nothing
        checked = await api.check(code, verification_id=created["id"])
        assert checked.status_code == 404
        assert record(redis_client, created["id"]).status == "expired"
        assert [e["type"] for e in events(redis_client)] == ["verification.expired"]
        assert (await api.send.get(f"/api/verifications/{created['id']}")).json()["status"] == (
            "expired"
        )
        canceled = await api.send.post(f"/api/verifications/{created['id']}/cancel")
        assert canceled.status_code == 409
        assert len(events(redis_client)) == 1


async def test_cancel_of_expired_writes_expired(redis_url: str, redis_client: redis.Redis) -> None:
    async with running_api(redis_client, make_settings(redis_url, code_ttl_seconds=1)) as api:
        created = (await api.start()).json()
        await asyncio.sleep(1.1)
        canceled = await api.send.post(f"/api/verifications/{created['id']}/cancel")
        assert canceled.status_code == 409
        assert [e["type"] for e in events(redis_client)] == ["verification.expired"]
        assert 0 < redis_client.pttl(record_key(created["id"])) <= 86_400_000


async def test_every_key_has_a_ttl(api: Api) -> None:
    created = (await api.start()).json()
    await api.send.post("/api/verifications", json={"to": PHONE, "channel": "sms"},
                        headers={"Idempotency-Key": "ttl-check"})
    await api.check("000000", to=PHONE)
    other = (await api.start("+14155550199")).json()
    await api.send.post(f"/api/verifications/{other['id']}/cancel")
    found = all_keys(api.redis)
    dest = crypto.dest_hash(PEPPER, "sms", PHONE)
    bucket = keys.v3_bucket_of_id(created["id"])
    other_bucket = keys.v3_bucket_of_id(other["id"])
    assert {record_key(created["id"]), keys.dest_limit_key(dest),
            keys.v3_outbox_stream(bucket), keys.v3_events_stream(other_bucket),
            keys.v3_failed_checks_key(CLIENT, dest_key(PHONE)),
            keys.ip_limit_key(crypto.ip_hash(PEPPER, "203.0.113.7"))} <= set(found)
    for key in found:
        assert api.redis.pttl(key) > 0, key
    assert api.redis.pttl(keys.v3_outbox_stream(bucket)) > 6 * 24 * 3600 * 1000
    assert api.redis.pttl(record_key(created["id"])) > 600_000


async def test_a_replaced_final_record_stays_readable_by_its_id(
    redis_url: str, redis_client: redis.Redis
) -> None:
    """A new send to the destination keeps the final record it replaces in the retained hash."""
    async with running_api(redis_client, make_settings(redis_url)) as api:
        first = (await api.start()).json()
        await api.send.post(f"/api/verifications/{first['id']}/cancel")
        second = (await api.start()).json()
        assert second["id"] != first["id"]
        retained = keys.v3_retained_key(CLIENT, dest_key(PHONE))
        until, _, kept = str(redis_client.hget(retained, keys.rand_of_id(first["id"]))).partition(
            "|")
        assert packed.unpack(kept).status == "canceled"
        assert 0 < int(until) - time.time() * 1000 <= 86_400_000
        assert 86_390_000 < redis_client.pttl(retained) <= 86_400_000
        read = await api.send.get(f"/api/verifications/{first['id']}")
        assert (read.status_code, read.json()["status"]) == (200, "canceled")
        assert (await api.send.post(f"/api/verifications/{first['id']}/cancel")).json()[
            "code"] == "not_pending"
        assert (await api.check(api.code_for(first["id"]), verification_id=first["id"])
                ).status_code == 404  # a retained record is final
        assert (await api.send.get(f"/api/verifications/{second['id']}")).json()[
            "status"] == "pending"
        # A pending one past its code TTL is retained as expired.
        expire_early(redis_client, second["id"])
        third = (await api.start()).json()
        assert (await api.send.get(f"/api/verifications/{second['id']}")).json()[
            "status"] == "expired"
        assert record(redis_client, third["id"]).status == "pending"
        assert redis_client.hlen(retained) == 2


async def test_key_names_hold_no_personal_data(api: Api) -> None:
    await api.start()
    await api.send.post("/api/verifications", json={"to": "ada@example.com", "channel": "email"},
                        headers={"Idempotency-Key": "personal-key"})
    names = " ".join(all_keys(api.redis))
    for secret in ("4155550100", "ada", "203.0.113.7", "personal-key"):
        assert secret not in names
