"""Expiry (reported, then written by check/cancel with its event) and a TTL on every key."""

from __future__ import annotations

import asyncio

import redis

from services.verification import crypto, keys
from tests.integration.services.support import (
    CLIENT,
    PEPPER,
    PHONE,
    Api,
    events,
    make_settings,
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
        record_key = keys.record_key(created["id"])
        assert redis_client.hget(record_key, "status") == "pending"  # reading writes nothing
        checked = await api.check(code, verification_id=created["id"])
        assert checked.status_code == 404
        assert redis_client.hget(record_key, "status") == "expired"
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
        assert 0 < redis_client.pttl(keys.record_key(created["id"])) <= 86_400_000


async def test_every_key_has_a_ttl(api: Api) -> None:
    created = (await api.start()).json()
    await api.send.post("/api/verifications", json={"to": PHONE, "channel": "sms"},
                        headers={"Idempotency-Key": "ttl-check"})
    await api.check("000000", to=PHONE)
    other = (await api.start("+14155550199")).json()
    await api.send.post(f"/api/verifications/{other['id']}/cancel")
    all_keys = sorted(str(k) for k in api.redis.keys("*"))
    dest = crypto.dest_hash(PEPPER, "sms", PHONE)
    assert keys.record_key(created["id"]) in all_keys
    assert {keys.pending_key(CLIENT, dest), keys.dest_limit_key(dest), keys.OUTBOX_STREAM,
            keys.EVENTS_STREAM, keys.ip_limit_key(crypto.ip_hash(PEPPER, "203.0.113.7"))} <= set(
        all_keys)
    for key in all_keys:
        assert api.redis.pttl(key) > 0, key
    assert api.redis.pttl(keys.OUTBOX_STREAM) > 6 * 24 * 3600 * 1000
    assert api.redis.pttl(keys.record_key(created["id"])) > 600_000


async def test_key_names_hold_no_personal_data(api: Api) -> None:
    await api.start()
    await api.send.post("/api/verifications", json={"to": "ada@example.com", "channel": "email"},
                        headers={"Idempotency-Key": "personal-key"})
    names = " ".join(str(k) for k in api.redis.keys("*"))
    for secret in ("4155550100", "ada", "203.0.113.7", "personal-key"):
        assert secret not in names
