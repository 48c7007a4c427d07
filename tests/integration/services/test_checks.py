"""POST /api/verification-checks in Redis: the events an approval and an exhaustion write.

The API rules of checking are the contract suite's (contract_tests/test_checks.py).
"""

from __future__ import annotations

from services.verification import keys
from tests.integration.services.support import (
    CLIENT,
    PHONE,
    Api,
    dest_key,
    events,
    record,
    wrong_code,
)


async def test_an_approval_writes_the_approved_event(api: Api) -> None:
    created = (await api.start()).json()
    response = await api.check(api.code_for(created["id"]), verification_id=created["id"])
    assert response.json()["status"] == "approved"
    (event,) = events(api.redis)
    assert event == {"schema": "3", "type": "verification.approved",
                     "verification_id": created["id"], "channel": "sms",
                     "dest_key": dest_key(PHONE), "client": CLIENT,
                     "reference": "", "occurred_at": event["occurred_at"]}
    # On its bucket's stream: the one the id names.
    assert api.redis.xlen(keys.v3_events_stream(keys.v3_bucket_of_id(created["id"]))) == 1


async def test_the_last_wrong_code_writes_max_attempts_reached(api: Api) -> None:
    created = (await api.start()).json()
    bad = wrong_code(api.code_for(created["id"]))
    for _ in range(5):
        await api.check(bad, to=PHONE)
    assert record(api.redis, created["id"]).check_attempts == 5
    assert record(api.redis, created["id"]).status == "max_attempts_reached"
    assert [e["type"] for e in events(api.redis)] == ["verification.max_attempts_reached"]
