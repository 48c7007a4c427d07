"""Idempotency-Key: exact replay, 422 on another body, refusals are not remembered."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from monolith.crypto import Keyring

BODY = {"to": "+14155550100", "channel": "sms"}


def test_replay_is_byte_for_byte_and_sends_nothing(
    client: FlaskClient, redis_client: redis.Redis
) -> None:
    headers = {"Idempotency-Key": "order-42-attempt-1"}
    first = client.post("/api/verifications", json=BODY, headers=headers)
    replay = client.post("/api/verifications", json=BODY, headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.get_data() == first.get_data()
    assert replay.headers["Location"] == first.headers["Location"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert redis_client.xlen("vfy:outbox") == 1
    assert client.get(first.headers["Location"]).get_json()["send_attempts"] == 1


def test_the_replay_survives_later_changes_and_differs_from_them(
    client: FlaskClient,
) -> None:
    headers = {"Idempotency-Key": "k-1"}
    first = client.post("/api/verifications", json=BODY, headers=headers)
    resent = client.post("/api/verifications", json=BODY)  # no key: a real resend
    assert resent.status_code == 200 and resent.get_json()["send_attempts"] == 2
    replay = client.post("/api/verifications", json=BODY, headers=headers)
    assert replay.get_data() == first.get_data()  # the snapshot, not today's record


def test_a_resend_is_replayed_as_200(client: FlaskClient) -> None:
    client.post("/api/verifications", json=BODY)
    headers = {"Idempotency-Key": "resend-1"}
    resent = client.post("/api/verifications", json=BODY, headers=headers)
    replay = client.post("/api/verifications", json=BODY, headers=headers)
    assert resent.status_code == replay.status_code == 200
    assert replay.get_data() == resent.get_data()
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_same_key_another_body_is_422(client: FlaskClient) -> None:
    headers = {"Idempotency-Key": "k-2"}
    assert client.post("/api/verifications", json=BODY, headers=headers).status_code == 201
    other = client.post(
        "/api/verifications", json={**BODY, "locale": "en"}, headers=headers
    )
    assert other.status_code == 422
    assert other.get_json() == {
        "type": "urn:problem:verify:idempotency_key_reused", "title": "Idempotency key reused",
        "status": 422,
        "detail": "The Idempotency-Key was already used with a different request body.",
        "code": "idempotency_key_reused",
    }


def test_a_refused_send_is_not_remembered(
    make_app: Callable[..., Flask], redis_client: redis.Redis, keyring: Keyring
) -> None:
    client = make_app(resend_cooldown_seconds=30).test_client()
    assert client.post("/api/verifications", json=BODY).status_code == 201
    headers = {"Idempotency-Key": "after-429"}
    assert client.post("/api/verifications", json=BODY, headers=headers).status_code == 429
    assert not redis_client.exists(f"vfy:idem:{keyring.idem_hash('after-429')}")


def test_stored_value_follows_the_contract(
    client: FlaskClient, redis_client: redis.Redis, keyring: Keyring
) -> None:
    import json

    client.post("/api/verifications", json=BODY, headers={"Idempotency-Key": "k-3"})
    key = f"vfy:idem:{keyring.idem_hash('k-3')}"
    stored = json.loads(redis_client.get(key) or "{}")
    assert stored["request_hash"] == keyring.request_hash("POST", "/api/verifications", BODY)
    assert stored["status"] == 201
    assert set(stored["record"]) == {"id", "to", "channel", "locale", "status", "send_attempts",
                                     "check_attempts", "created_at", "expires_at"}
    assert isinstance(stored["record"]["created_at"], int)
    assert 59_000 < redis_client.pttl(key) <= 60_000


@pytest.mark.parametrize("value", ["", "x" * 256, "has space"])
def test_an_invalid_key_is_400(client: FlaskClient, value: str) -> None:
    response = client.post("/api/verifications", json=BODY, headers={"Idempotency-Key": value})
    assert response.status_code == 400
    assert response.get_json()["field"] == "Idempotency-Key"
