"""Cancel and expiry as Redis sees them: the index, the retention TTL, the status written, events.

The API rules of reading and canceling are the contract suite's (contract_tests/test_read_cancel.py,
contract_tests/test_expiry.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask
from flask.testing import FlaskClient

from monolith.crypto import Keyring

PHONE = "+14155550100"


def test_cancel_frees_the_index_keeps_the_record_for_retention_and_emits_the_event(
    client: FlaskClient, start: Callable[..., Any], redis_client: redis.Redis, keyring: Keyring,
    stream: Callable[[str], Any],
) -> None:
    vid = start().get_json()["id"]
    assert client.post(f"/api/verifications/{vid}/cancel").status_code == 200
    dest_hash = keyring.dest_hash("sms", PHONE)
    assert not redis_client.exists(f"vfy:pending:tests:{dest_hash}")
    assert 59_000 < redis_client.pttl(f"vfy:ver:{vid}") <= 60_000  # retention from now
    [(_id, event)] = stream("vfy:events")
    assert event["type"] == "verification.canceled" and event["verification_id"] == vid
    assert event["dest_hash"] == dest_hash and event["schema"] == "2"
    assert event["client"] == "tests" and event["reference"] == ""


def test_expiry_is_reported_then_written_by_a_check(
    make_app: Callable[..., Flask], redis_client: redis.Redis,
    outbox_codes: Callable[[str], list[str]], stream: Callable[[str], Any],
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
    assert [event["type"] for _id, event in stream("vfy:events")] == ["verification.expired"]


def test_cancel_writes_expiry_too(
    make_app: Callable[..., Flask], redis_client: redis.Redis, stream: Callable[[str], Any]
) -> None:
    client = make_app(code_ttl_seconds=1).test_client()
    vid = client.post("/api/verifications", json={"to": PHONE, "channel": "sms"}).get_json()["id"]
    time.sleep(1.05)
    assert client.post(f"/api/verifications/{vid}/cancel").status_code == 409
    assert redis_client.hget(f"vfy:ver:{vid}", "status") == "expired"
    assert [e["type"] for _i, e in stream("vfy:events")] == ["verification.expired"]
