"""Idempotency-Key in Redis: the stored snapshot follows the storage contract; refusals store
nothing. The API rules of replays are the contract suite's (contract_tests/test_idempotency.py).
"""

from __future__ import annotations

import json

from services.verification import crypto, keys
from tests.integration.services.support import CLIENT, PEPPER, PHONE, Api

BODY = {"to": PHONE, "channel": "sms"}


async def test_stored_snapshot_follows_the_contract(api: Api) -> None:
    await api.send.post("/api/verifications", json=BODY, headers={"Idempotency-Key": "k-1"})
    idem_hash = crypto.idem_hash(PEPPER, CLIENT, "k-1")
    stored = json.loads(str(api.redis.get(keys.idempotency_key(idem_hash))))
    assert stored["status"] == 201
    assert stored["request_hash"] == crypto.request_hash(PEPPER, "POST", "/api/verifications", BODY)
    assert set(stored["record"]) == {"id", "to", "channel", "locale", "reference", "status",
                                     "send_attempts", "check_attempts", "created_at",
                                     "expires_at"}
    assert stored["record"]["locale"] == ""
    assert isinstance(stored["record"]["created_at"], int)


async def test_a_refused_send_is_not_stored(api: Api) -> None:
    await api.start()
    headers = {"Idempotency-Key": "after-cooldown"}
    refused = await api.send.post("/api/verifications", json=BODY, headers=headers)
    assert refused.status_code == 429
    idem_hash = crypto.idem_hash(PEPPER, CLIENT, "after-cooldown")
    assert api.redis.exists(keys.idempotency_key(idem_hash)) == 0
