"""Contract v2 on the services: what one client does never shows in, resets or locks another's
verifications; the per-client limits; end_user_ip and reference."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import redis

from services.verification import crypto, keys
from tests.integration.services.support import (
    AS_OTHER,
    CLIENT,
    OTHER,
    PEPPER,
    PHONE,
    Api,
    dest_key,
    events,
    expire_early,
    record,
    record_of,
    running_api,
    two_client_settings,
    wrong_code,
)

BODY = {"to": PHONE, "channel": "sms"}


@pytest.fixture
async def api(redis_url: str, redis_client: redis.Redis) -> AsyncIterator[Api]:
    async with running_api(redis_client, two_client_settings(redis_url)) as running:
        yield running


async def check_as_other(api: Api, code: str, **by: str) -> httpx.Response:
    return await api.verify.post("/api/verification-checks", json={"code": code, **by},
                                 headers=AS_OTHER)


async def test_another_clients_verification_is_not_found(api: Api) -> None:
    created = (await api.start()).json()
    vid, code = created["id"], api.code_for(created["id"])
    assert (await api.send.get(f"/api/verifications/{vid}", headers=AS_OTHER)).status_code == 404
    assert (await check_as_other(api, code, verification_id=vid)).status_code == 404
    assert (await check_as_other(api, code, to=PHONE)).status_code == 404
    canceled = await api.send.post(f"/api/verifications/{vid}/cancel", headers=AS_OTHER)
    assert canceled.status_code == 404
    assert canceled.json()["code"] == "not_found"
    # Nothing of it changed: the owner still reads it pending and approves it.
    assert (await api.send.get(f"/api/verifications/{vid}")).json()["check_attempts"] == 0
    assert (await api.check(code, verification_id=vid)).json()["status"] == "approved"


async def test_two_clients_have_their_own_pending_verification_for_one_destination(
    api: Api,
) -> None:
    ours = await api.start()
    theirs = await api.send.post("/api/verifications", json=BODY, headers=AS_OTHER)
    assert (ours.status_code, theirs.status_code) == (201, 201)  # not a resend of ours
    assert ours.json()["id"] != theirs.json()["id"]
    their_code = api.code_for(theirs.json()["id"])
    approved = await check_as_other(api, their_code, to=PHONE)
    assert approved.json()["verification_id"] == theirs.json()["id"]
    assert (await api.send.get(f"/api/verifications/{ours.json()['id']}")).json()[
        "status"] == "pending"
    # Each client's record sits at its own key (the id names it): neither reaches the other's.
    assert record(api.redis, ours.json()["id"]).status == "pending"
    assert record_of(api.redis, theirs.json()["id"], OTHER.client).status == "approved"
    assert keys.dest_key_of_id(ours.json()["id"]) != keys.dest_key_of_id(theirs.json()["id"])


async def test_an_idempotency_key_is_the_clients_own(api: Api) -> None:
    key = {"Idempotency-Key": "same-key"}
    ours = await api.send.post("/api/verifications", json=BODY, headers=key)
    # The same key with another body from another client: neither a replay nor a reuse.
    other_body = {"to": "+14155550123", "channel": "sms"}
    theirs = await api.send.post("/api/verifications", json=other_body,
                                 headers={**key, **AS_OTHER})
    assert (ours.status_code, theirs.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["id"] != ours.json()["id"]
    replay = await api.send.post("/api/verifications", json=BODY, headers=key)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == ours.json()


async def test_an_exhausted_verification_refuses_a_new_send_until_it_expires(api: Api) -> None:
    created = (await api.start()).json()
    bad = wrong_code(api.code_for(created["id"]))
    for _ in range(api.settings.max_checks):
        await api.check(bad, to=PHONE)
    refused = await api.start()
    assert refused.status_code == 429
    assert refused.json()["code"] == "max_check_attempts_reached"
    assert 590 <= int(refused.headers["Retry-After"]) <= 600
    # Another client's send for that destination is its own business.
    assert (await api.send.post("/api/verifications", json=BODY, headers=AS_OTHER)
            ).status_code == 201


async def test_failed_checks_limit_per_client_and_destination(
    redis_url: str, redis_client: redis.Redis
) -> None:
    settings = two_client_settings(redis_url, dest_failed_checks_per_day=3, max_checks=2,
                                   resend_cooldown_seconds=0)
    async with running_api(redis_client, settings) as api:
        first = (await api.start()).json()
        await api.check(wrong_code(api.code_for(first["id"])), to=PHONE)
        await api.check(wrong_code(api.code_for(first["id"])), to=PHONE)  # exhausted: 2 failures
        second = (await api.start("+14155550177")).json()  # another destination: not counted
        # The first expires early (as its TTL would), so a new send to PHONE may start.
        expire_early(api.redis, first["id"])
        third = (await api.start()).json()
        code = api.code_for(third["id"])
        assert (await api.check(wrong_code(code), verification_id=third["id"])).status_code == 200
        failures = keys.v3_failed_checks_key(CLIENT, dest_key(PHONE))
        assert api.redis.get(failures) == "3"
        assert 86_390_000 < api.redis.pttl(failures) <= 86_400_000  # from the first failure
        for refused in (await api.check(code, verification_id=third["id"]),
                        await api.check(code, to=PHONE), await api.start()):
            assert refused.status_code == 429
            assert refused.json()["code"] == "rate_limited"
            assert 86_390 < int(refused.headers["Retry-After"]) <= 86_400
        # A refused check counted nothing, and compared nothing.
        assert api.redis.get(failures) == "3"
        assert record(api.redis, third["id"]).check_attempts == 1
        # Other destinations and other clients are not locked out.
        assert (await api.check(api.code_for(second["id"]), to="+14155550177")).json()[
            "status"] == "approved"
        assert (await api.send.post("/api/verifications", json=BODY, headers=AS_OTHER)
                ).status_code == 201


async def test_client_send_limit_counts_new_sends_and_resends(
    redis_url: str, redis_client: redis.Redis
) -> None:
    settings = two_client_settings(redis_url, client_send_limit=3, resend_cooldown_seconds=0)
    async with running_api(redis_client, settings) as api:
        assert (await api.start()).status_code == 201
        assert (await api.start()).status_code == 200  # a resend counts
        assert (await api.start("+14155550188")).status_code == 201
        refused = await api.start("+14155550199")
        assert refused.status_code == 429
        assert refused.json()["code"] == "rate_limited"
        assert 3590 < int(refused.headers["Retry-After"]) <= 3600
        assert (await api.start()).status_code == 429  # resends too
        assert api.redis.get(keys.client_limit_key(CLIENT)) == "3"
        other = await api.send.post("/api/verifications", json={**BODY, "to": "+14155550199"},
                                    headers=AS_OTHER)
        assert other.status_code == 201


async def test_end_user_ip_is_what_the_ip_limit_counts(
    redis_url: str, redis_client: redis.Redis
) -> None:
    async with running_api(redis_client, two_client_settings(redis_url, ip_limit=1)) as api:
        first = await api.send.post("/api/verifications",
                                    json={**BODY, "end_user_ip": "2001:db8:1:2::5"})
        assert first.status_code == 201
        assert "end_user_ip" not in first.json()
        counted = keys.ip_limit_key(crypto.ip_hash(PEPPER, "2001:db8:1:2::5"))
        assert api.redis.get(counted) == "1"
        assert api.redis.exists(keys.ip_limit_key(crypto.ip_hash(PEPPER, "203.0.113.7"))) == 0
        # Another address of the same /64 is the same subscriber: over the limit.
        same_net = await api.send.post("/api/verifications", json={
            "to": "+14155550166", "channel": "sms", "end_user_ip": "2001:db8:1:2::99"})
        assert same_net.status_code == 429
        assert same_net.json()["code"] == "rate_limited"
        # The connecting address itself is still free.
        assert (await api.start("+14155550166")).status_code == 201


async def test_reference_round_trip_and_on_the_events(api: Api) -> None:
    created = await api.send.post("/api/verifications", json={**BODY, "reference": "order 42"})
    body = created.json()
    assert list(body)[3:5] == ["locale", "reference"]
    assert body["reference"] == "order 42"
    vid = body["id"]
    assert record(api.redis, vid).reference == "order 42"
    assert (await api.send.get(f"/api/verifications/{vid}")).json()["reference"] == "order 42"
    resent = await api.send.post("/api/verifications", json={**BODY, "reference": "other"})
    assert resent.status_code == 429  # the cooldown; the stored reference stays in any case
    assert (await api.check(api.code_for(vid), to=PHONE)).json()["status"] == "approved"
    (event,) = events(api.redis)
    assert (event["schema"], event["client"], event["reference"]) == ("3", CLIENT, "order 42")
    plain = (await api.start("+14155550144")).json()
    assert plain["reference"] is None
    canceled = await api.send.post(f"/api/verifications/{plain['id']}/cancel")
    assert canceled.json()["reference"] is None
    assert events(api.redis)[-1]["reference"] == ""


async def test_a_resend_keeps_the_stored_reference(
    redis_url: str, redis_client: redis.Redis
) -> None:
    async with running_api(redis_client,
                           two_client_settings(redis_url, resend_cooldown_seconds=0)) as api:
        await api.send.post("/api/verifications", json={**BODY, "reference": "first"})
        resent = await api.send.post("/api/verifications", json={**BODY, "reference": "second"})
        assert resent.status_code == 200
        assert resent.json()["reference"] == "first"
