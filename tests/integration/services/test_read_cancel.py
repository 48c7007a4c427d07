"""GET /api/verifications/{id} and POST /api/verifications/{id}/cancel."""

from __future__ import annotations

import pytest

from services.verification import crypto, keys
from tests.integration.services.support import PEPPER, PHONE, Api, events

NOT_FOUND = {"type": "urn:problem:verify:not_found", "title": "Not found", "status": 404,
             "detail": "The requested resource was not found.", "code": "not_found"}
NOT_PENDING = {"type": "urn:problem:verify:not_pending", "title": "Verification not pending",
               "status": 409, "detail": "The verification is no longer pending.",
               "code": "not_pending"}


async def test_get_returns_what_create_returned(api: Api) -> None:
    created = await api.start()
    read = await api.send.get(created.headers["location"])
    assert read.status_code == 200
    assert read.content == created.content


@pytest.mark.parametrize(
    "verification_id",
    ["VE" + "0" * 32, "VE123", "ve" + "a" * 32, "VE" + "A" * 32, "anything", "VE" + "a" * 33],
)
async def test_unknown_or_malformed_id_is_404(api: Api, verification_id: str) -> None:
    for response in (
        await api.send.get(f"/api/verifications/{verification_id}"),
        await api.send.post(f"/api/verifications/{verification_id}/cancel"),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json() == NOT_FOUND


async def test_cancel_then_409_and_event(api: Api) -> None:
    created = (await api.start()).json()
    canceled = await api.send.post(
        f"/api/verifications/{created['id']}/cancel", content=b"ignored", headers={}
    )
    assert canceled.status_code == 200
    assert canceled.json() == {**created, "status": "canceled"}
    read = await api.send.get(f"/api/verifications/{created['id']}")
    assert read.json()["status"] == "canceled"
    again = await api.send.post(f"/api/verifications/{created['id']}/cancel")
    assert again.status_code == 409
    assert again.json() == NOT_PENDING
    dest = crypto.dest_hash(PEPPER, "sms", PHONE)
    assert api.redis.exists(keys.pending_key(dest)) == 0
    (event,) = events(api.redis)
    assert event["type"] == "verification.canceled"
    assert event["verification_id"] == created["id"]
    assert event["dest_hash"] == dest


async def test_cancel_after_approval_is_409(api: Api) -> None:
    created = (await api.start()).json()
    approved = await api.check(api.code_for(created["id"]), verification_id=created["id"])
    assert approved.json()["status"] == "approved"
    response = await api.send.post(f"/api/verifications/{created['id']}/cancel")
    assert response.status_code == 409


async def test_unknown_path_and_method(api: Api) -> None:
    missing = await api.send.get("/api/nothing-here")
    assert (missing.status_code, missing.json()) == (404, NOT_FOUND)
    slash = await api.send.post("/api/verifications/", json={})
    assert slash.status_code == 404
    wrong = await api.send.delete("/api/verifications")
    assert wrong.status_code == 405
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.json()["code"] == "method_not_allowed"
    assert wrong.json()["title"] == "Method not allowed"
    assert "POST" in wrong.headers["allow"]
    checks_on_send = await api.send.post("/api/verification-checks", json={})
    assert checks_on_send.status_code == 404
