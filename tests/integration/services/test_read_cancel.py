"""Cancel in Redis (the index freed, the event), and the paths each service leaves to the other.

The API rules of reading and canceling are the contract suite's (contract_tests/).
"""

from __future__ import annotations

from tests.integration.services.support import PHONE, Api, dest_key, events, record, record_key


async def test_cancel_ends_the_record_and_writes_the_event(api: Api) -> None:
    created = (await api.start()).json()
    canceled = await api.send.post(f"/api/verifications/{created['id']}/cancel")
    assert canceled.status_code == 200
    assert record(api.redis, created["id"]).status == "canceled"
    assert 86_390_000 < api.redis.pttl(record_key(created["id"])) <= 86_400_000  # retention
    (event,) = events(api.redis)
    assert event["type"] == "verification.canceled"
    assert event["verification_id"] == created["id"]
    assert event["dest_key"] == dest_key(PHONE)
    assert (await api.start()).status_code == 201  # no longer the destination's live one


async def test_each_service_serves_only_its_own_paths(api: Api) -> None:
    checks_on_send = await api.send.post("/api/verification-checks", json={})
    assert (checks_on_send.status_code, checks_on_send.json()["code"]) == (404, "not_found")
    sends_on_verify = await api.verify.post("/api/verifications", json={})
    assert (sends_on_verify.status_code, sends_on_verify.json()["code"]) == (404, "not_found")
