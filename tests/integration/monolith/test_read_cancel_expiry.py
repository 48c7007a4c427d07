"""GET and cancel of a verification; expiry as readers and the scripts see it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask
from flask.testing import FlaskClient

from monolith.crypto import Keyring

PHONE = "+14155550100"


def test_get_returns_what_the_send_returned(
    client: FlaskClient, start: Callable[..., Any]
) -> None:
    created = start()
    response = client.get(created.headers["Location"])
    assert response.status_code == 200
    assert response.get_data() == created.get_data()


def test_cancel_then_409_and_the_event(
    client: FlaskClient, start: Callable[..., Any], redis_client: redis.Redis, keyring: Keyring,
    stream: Callable[[str], Any],
) -> None:
    vid = start().get_json()["id"]
    canceled = client.post(f"/api/verifications/{vid}/cancel", data=b"ignored body",
                           content_type="text/plain")
    assert canceled.status_code == 200
    assert canceled.get_json()["status"] == "canceled"
    assert list(canceled.get_json()) == ["id", "to", "channel", "locale", "status",
                                         "send_attempts", "check_attempts", "created_at",
                                         "expires_at"]
    dest_hash = keyring.dest_hash("sms", PHONE)
    assert not redis_client.exists(f"vfy:pending:{dest_hash}")
    assert 59_000 < redis_client.pttl(f"vfy:ver:{vid}") <= 60_000  # retention from now
    [(_id, event)] = stream("vfy:events")
    assert event["type"] == "verification.canceled" and event["verification_id"] == vid
    assert event["dest_hash"] == dest_hash and event["schema"] == "1"
    again = client.post(f"/api/verifications/{vid}/cancel")
    assert again.status_code == 409
    assert again.get_json()["title"] == "Verification not pending"
    assert start().get_json()["id"] != vid  # a new send starts afresh


def test_cancel_unknown_and_malformed_ids(client: FlaskClient) -> None:
    for vid in ["VE" + "0" * 32, "nope", "VE" + "0" * 31]:
        assert client.post(f"/api/verifications/{vid}/cancel").status_code == 404


def test_cancel_of_an_approved_verification_is_409(
    client: FlaskClient, start: Callable[..., Any], outbox_codes: Callable[[str], list[str]]
) -> None:
    vid = start().get_json()["id"]
    client.post("/api/verification-checks", json={"to": PHONE, "code": outbox_codes(vid)[0]})
    assert client.post(f"/api/verifications/{vid}/cancel").status_code == 409


def test_expiry_is_reported_then_written_by_a_check(
    make_app: Callable[..., Flask], redis_client: redis.Redis,
    outbox_codes: Callable[[str], list[str]], keyring: Keyring, stream: Callable[[str], Any],
) -> None:
    client = make_app(code_ttl_seconds=1).test_client()
    vid = client.post("/api/verifications", json={"to": PHONE, "channel": "sms"}).get_json()["id"]
    code = outbox_codes(vid)[0]
    time.sleep(1.05)
    assert client.get(f"/api/verifications/{vid}").get_json()["status"] == "expired"
    assert redis_client.hget(f"vfy:ver:{vid}", "status") == "pending"  # reading never writes
    check = client.post("/api/verification-checks", json={"verification_id": vid, "code": code})
    assert check.status_code == 404
    assert redis_client.hget(f"vfy:ver:{vid}", "status") == "expired"
    types = [event["type"] for _id, event in stream("vfy:events")]
    assert types == ["verification.expired"]
    assert client.get(f"/api/verifications/{vid}").get_json()["status"] == "expired"
    assert client.post(f"/api/verifications/{vid}/cancel").status_code == 409


def test_cancel_writes_expiry_too(
    make_app: Callable[..., Flask], redis_client: redis.Redis, stream: Callable[[str], Any]
) -> None:
    client = make_app(code_ttl_seconds=1).test_client()
    vid = client.post("/api/verifications", json={"to": PHONE, "channel": "sms"}).get_json()["id"]
    time.sleep(1.05)
    assert client.post(f"/api/verifications/{vid}/cancel").status_code == 409
    assert redis_client.hget(f"vfy:ver:{vid}", "status") == "expired"
    assert [e["type"] for _i, e in stream("vfy:events")] == ["verification.expired"]
    # an expired verification does not block a new one
    fresh = client.post("/api/verifications", json={"to": PHONE, "channel": "sms"})
    assert fresh.status_code == 201 and fresh.get_json()["id"] != vid
