"""POST /api/verification-checks: right, wrong, exhaustion, by id and by `to`, and events."""

from __future__ import annotations

import pytest

from services.verification import crypto, keys
from tests.integration.services.support import EMAIL, PEPPER, PHONE, Api, events, wrong_code


@pytest.mark.parametrize("by", ["verification_id", "to"])
async def test_right_code_approves_once(api: Api, by: str) -> None:
    created = (await api.start()).json()
    code = api.code_for(created["id"])
    locator = {by: created["id"] if by == "verification_id" else PHONE}
    response = await api.check(code, **locator)
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["verification_id", "to", "channel", "status", "valid",
                          "check_attempts", "remaining_attempts"]
    assert body == {"verification_id": created["id"], "to": PHONE, "channel": "sms",
                    "status": "approved", "valid": True, "check_attempts": 1,
                    "remaining_attempts": 4}
    assert code not in response.text
    reused = await api.check(code, **locator)
    assert reused.status_code == 404
    read = await api.send.get(f"/api/verifications/{created['id']}")
    assert read.json()["status"] == "approved"
    (event,) = events(api.redis)
    assert event == {"schema": "1", "type": "verification.approved",
                     "verification_id": created["id"], "channel": "sms",
                     "dest_hash": crypto.dest_hash(PEPPER, "sms", PHONE),
                     "occurred_at": event["occurred_at"]}


async def test_check_by_email_ignores_case(api: Api) -> None:
    created = (await api.start(EMAIL, "email")).json()
    response = await api.check(api.code_for(created["id"]), to="ADA@example.com")
    assert response.json()["status"] == "approved"


@pytest.mark.parametrize("by", ["verification_id", "to"])
async def test_fifth_wrong_exhausts_then_429_even_with_right_code(api: Api, by: str) -> None:
    created = (await api.start()).json()
    code = api.code_for(created["id"])
    locator = {by: created["id"] if by == "verification_id" else PHONE}
    answers = [(await api.check(wrong_code(code), **locator)).json() for _ in range(5)]
    assert [a["status"] for a in answers] == ["pending"] * 4 + ["max_attempts_reached"]
    assert [a["remaining_attempts"] for a in answers] == [4, 3, 2, 1, 0]
    assert not any(a["valid"] for a in answers)
    refused = await api.check(code, **locator)
    assert refused.status_code == 429
    assert refused.json()["code"] == "max_check_attempts_reached"
    assert 1 <= int(refused.headers["retry-after"]) <= 600
    record = api.redis.hgetall(keys.record_key(created["id"]))
    assert record["check_attempts"] == "5"
    assert [e["type"] for e in events(api.redis)] == ["verification.max_attempts_reached"]
    read = (await api.send.get(f"/api/verifications/{created['id']}")).json()
    assert read["status"] == "max_attempts_reached"


async def test_nothing_pending_for_destination_is_404(api: Api) -> None:
    response = await api.check("123456", to=PHONE)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_malformed_check_does_not_count(api: Api) -> None:
    created = (await api.start()).json()
    await api.verify.post("/api/verification-checks",
                          json={"verification_id": created["id"], "code": "12"})
    record = api.redis.hgetall(keys.record_key(created["id"]))
    assert record["check_attempts"] == "0"


async def test_canceled_verification_is_404_on_check(api: Api) -> None:
    created = (await api.start()).json()
    await api.send.post(f"/api/verifications/{created['id']}/cancel")
    response = await api.check(api.code_for(created["id"]), verification_id=created["id"])
    assert response.status_code == 404
