"""Idempotency-Key in Redis: the stored value follows the storage contract; refusals store nothing.

The API rules of replays are the contract suite's (contract_tests/test_idempotency.py).
"""

from __future__ import annotations

from collections.abc import Callable

import redis
from flask import Flask
from flask.testing import FlaskClient

from monolith.crypto import Keyring

BODY = {"to": "+14155550100", "channel": "sms"}


def test_a_refused_send_is_not_remembered(
    make_app: Callable[..., Flask], redis_client: redis.Redis, keyring: Keyring
) -> None:
    client = make_app(resend_cooldown_seconds=30).test_client()
    assert client.post("/api/verifications", json=BODY).status_code == 201
    headers = {"Idempotency-Key": "after-429"}
    assert client.post("/api/verifications", json=BODY, headers=headers).status_code == 429
    assert not redis_client.exists(f"vfy:idem:{keyring.idem_hash('tests', 'after-429')}")


def test_stored_value_follows_the_contract(
    client: FlaskClient, redis_client: redis.Redis, keyring: Keyring
) -> None:
    import json

    client.post("/api/verifications", json=BODY, headers={"Idempotency-Key": "k-3"})
    key = f"vfy:idem:{keyring.idem_hash('tests', 'k-3')}"
    stored = json.loads(redis_client.get(key) or "{}")
    assert stored["request_hash"] == keyring.request_hash("POST", "/api/verifications", BODY)
    assert stored["status"] == 201
    assert set(stored["record"]) == {"id", "to", "channel", "locale", "reference", "status",
                                     "send_attempts", "check_attempts", "created_at",
                                     "expires_at"}
    assert isinstance(stored["record"]["created_at"], int)
    assert 59_000 < redis_client.pttl(key) <= 60_000
