"""Cancel in Redis (the index freed, the event), and the paths each service leaves to the other.

The API rules of reading and canceling are the contract suite's (contract_tests/).
"""

from __future__ import annotations

from services.verification import crypto, keys
from tests.integration.services.support import CLIENT, PEPPER, PHONE, Api, events


async def test_cancel_frees_the_index_and_writes_the_event(api: Api) -> None:
    created = (await api.start()).json()
    canceled = await api.send.post(f"/api/verifications/{created['id']}/cancel")
    assert canceled.status_code == 200
    dest = crypto.dest_hash(PEPPER, "sms", PHONE)
    assert api.redis.exists(keys.pending_key(CLIENT, dest)) == 0
    (event,) = events(api.redis)
    assert event["type"] == "verification.canceled"
    assert event["verification_id"] == created["id"]
    assert event["dest_hash"] == dest


async def test_each_service_serves_only_its_own_paths(api: Api) -> None:
    checks_on_send = await api.send.post("/api/verification-checks", json={})
    assert (checks_on_send.status_code, checks_on_send.json()["code"]) == (404, "not_found")
    sends_on_verify = await api.verify.post("/api/verifications", json={})
    assert (sends_on_verify.status_code, sends_on_verify.json()["code"]) == (404, "not_found")
