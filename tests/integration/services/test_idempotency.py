"""Idempotency-Key: replay byte-for-byte, 422 on another body, refusals not stored."""

from __future__ import annotations

import json

import redis

from services.verification import crypto, keys
from tests.integration.services.support import PEPPER, PHONE, Api, make_settings, running_api

BODY = {"to": PHONE, "channel": "sms"}


async def test_replay_is_byte_for_byte_and_sends_nothing(api: Api) -> None:
    headers = {"Idempotency-Key": "order-42-attempt-1"}
    first = await api.send.post("/api/verifications", json=BODY, headers=headers)
    replay = await api.send.post("/api/verifications", json=BODY, headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.content == first.content
    assert replay.headers["location"] == first.headers["location"]
    assert replay.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert len(api.redis.xrange(keys.OUTBOX_STREAM)) == 1  # type: ignore[arg-type]


async def test_stored_snapshot_follows_the_contract(api: Api) -> None:
    await api.send.post("/api/verifications", json=BODY, headers={"Idempotency-Key": "k-1"})
    stored = json.loads(str(api.redis.get(keys.idempotency_key(crypto.idem_hash(PEPPER, "k-1")))))
    assert stored["status"] == 201
    assert stored["request_hash"] == crypto.request_hash(PEPPER, "POST", "/api/verifications", BODY)
    assert set(stored["record"]) == {"id", "to", "channel", "locale", "status", "send_attempts",
                                     "check_attempts", "created_at", "expires_at"}
    assert stored["record"]["locale"] == ""
    assert isinstance(stored["record"]["created_at"], int)


async def test_same_key_other_body_is_422(api: Api) -> None:
    headers = {"Idempotency-Key": "k-2"}
    await api.send.post("/api/verifications", json=BODY, headers=headers)
    other = await api.send.post(
        "/api/verifications", json={**BODY, "locale": "en"}, headers=headers
    )
    assert other.status_code == 422
    assert other.json() == {
        "type": "urn:problem:verify:idempotency_key_reused", "title": "Idempotency key reused",
        "status": 422,
        "detail": "The Idempotency-Key was already used with a different request body.",
        "code": "idempotency_key_reused"}


async def test_resend_is_replayed_as_200_without_location(
    redis_url: str, redis_client: redis.Redis
) -> None:
    settings = make_settings(redis_url, resend_cooldown_seconds=0)
    async with running_api(redis_client, settings) as api:
        await api.start()
        headers = {"Idempotency-Key": "resend-1"}
        first = await api.send.post("/api/verifications", json=BODY, headers=headers)
        replay = await api.send.post("/api/verifications", json=BODY, headers=headers)
        assert first.status_code == replay.status_code == 200
        assert replay.content == first.content
        assert replay.json()["send_attempts"] == 2
        assert "location" not in replay.headers


async def test_a_refused_send_is_not_stored(api: Api) -> None:
    await api.start()
    headers = {"Idempotency-Key": "after-cooldown"}
    refused = await api.send.post("/api/verifications", json=BODY, headers=headers)
    assert refused.status_code == 429
    assert api.redis.exists(keys.idempotency_key(crypto.idem_hash(PEPPER, "after-cooldown"))) == 0
    assert "idempotent-replayed" not in refused.headers
