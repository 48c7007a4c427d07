"""POST /api/verifications: create, resend (same id, same code), cooldown, max sends, limits."""

from __future__ import annotations

import re

import redis

from services.verification import crypto, keys
from tests.integration.services.support import (
    EMAIL,
    PEPPER,
    PHONE,
    Api,
    make_settings,
    running_api,
)

RFC3339_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


async def test_create_answers_201_with_location_and_the_resource(api: Api) -> None:
    response = await api.start()
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["id", "to", "channel", "locale", "status", "send_attempts",
                          "check_attempts", "created_at", "expires_at"]
    assert re.fullmatch(r"VE[0-9a-f]{32}", body["id"])
    assert response.headers["location"] == f"/api/verifications/{body['id']}"
    assert body | {"id": "", "created_at": "", "expires_at": ""} == {
        "id": "", "to": PHONE, "channel": "sms", "locale": None, "status": "pending",
        "send_attempts": 1, "check_attempts": 0, "created_at": "", "expires_at": ""}
    assert RFC3339_MS.fullmatch(body["created_at"]) and RFC3339_MS.fullmatch(body["expires_at"])
    code = api.code_for(body["id"])
    assert re.fullmatch(r"[0-9]{6}", code)
    assert code not in response.text


async def test_email_is_lowercased_and_locale_kept(api: Api) -> None:
    response = await api.send.post(
        "/api/verifications", json={"to": "Ada@Example.COM", "channel": "email", "locale": "pt-BR"}
    )
    assert response.status_code == 201
    assert response.json()["to"] == EMAIL
    assert response.json()["locale"] == "pt-BR"


async def test_resend_keeps_id_and_code(redis_url: str, redis_client: redis.Redis) -> None:
    settings = make_settings(redis_url, resend_cooldown_seconds=0)
    async with running_api(redis_client, settings) as api:
        first = (await api.start()).json()
        first_code = api.code_for(first["id"])
        again = await api.start()
        assert again.status_code == 200
        assert "location" not in again.headers
        assert again.json()["id"] == first["id"]
        assert again.json()["send_attempts"] == 2
        assert again.json()["created_at"] == first["created_at"]
        jobs: list[tuple[str, dict[str, str]]]
        jobs = redis_client.xrange(keys.OUTBOX_STREAM)  # type: ignore[assignment]
        assert [job["send_attempt"] for _, job in jobs] == ["1", "2"]
        assert api.code_for(first["id"]) == first_code


async def test_resend_within_cooldown_is_429_and_does_not_count(api: Api) -> None:
    await api.start()
    refused = await api.start()
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "resend_cooldown"
    assert refused.headers["retry-after"] == "30"
    dest = crypto.dest_hash(PEPPER, "sms", PHONE)
    assert api.redis.get(keys.dest_limit_key(dest)) == "1"
    assert len(api.redis.xrange(keys.OUTBOX_STREAM)) == 1  # type: ignore[arg-type]


async def test_max_sends(redis_url: str, redis_client: redis.Redis) -> None:
    settings = make_settings(redis_url, resend_cooldown_seconds=0, max_sends=3)
    async with running_api(redis_client, settings) as api:
        statuses = [(await api.start()).status_code for _ in range(3)]
        assert statuses == [201, 200, 200]
        refused = await api.start()
        assert refused.status_code == 429
        assert refused.json()["code"] == "max_send_attempts_reached"
        assert 599 <= int(refused.headers["retry-after"]) <= 600


async def test_destination_limit_counts_resends(redis_url: str, redis_client: redis.Redis) -> None:
    settings = make_settings(redis_url, resend_cooldown_seconds=0, dest_limit=2)
    async with running_api(redis_client, settings) as api:
        assert [(await api.start()).status_code for _ in range(2)] == [201, 200]
        refused = await api.start()
        assert refused.status_code == 429
        assert refused.json()["code"] == "rate_limited"
        assert 3599 <= int(refused.headers["retry-after"]) <= 3600
        other = await api.start(EMAIL, "email")
        assert other.status_code == 201


async def test_destination_limit_applies_to_new_verifications(
    redis_url: str, redis_client: redis.Redis
) -> None:
    settings = make_settings(redis_url, dest_limit=1)
    async with running_api(redis_client, settings) as api:
        first = (await api.start()).json()
        assert (await api.send.post(f"/api/verifications/{first['id']}/cancel")).status_code == 200
        refused = await api.start()
        assert refused.status_code == 429
        assert refused.json()["code"] == "rate_limited"


async def test_ip_limit(redis_url: str, redis_client: redis.Redis) -> None:
    settings = make_settings(redis_url, ip_limit=2, ip_window_seconds=120)
    async with running_api(redis_client, settings) as api:
        assert (await api.start("+14155550101")).status_code == 201
        assert (await api.start("+14155550102")).status_code == 201
        refused = await api.start("+14155550103")
        assert refused.status_code == 429
        assert refused.json() == {
            "type": "urn:problem:verify:rate_limited", "title": "Too many requests",
            "status": 429, "detail": "Too many verifications were sent; retry later.",
            "code": "rate_limited"}
        assert 119 <= int(refused.headers["retry-after"]) <= 120
    async with running_api(redis_client, settings, client_ip="198.51.100.9") as other_ip:
        assert (await other_ip.start("+14155550103")).status_code == 201
