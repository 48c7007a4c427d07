"""Cancel and expiry as Redis sees them: the retention TTL, the status written, events; a record
replaced by a new send stays readable by id from the retained hash.

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

from monolith import keys, packed
from monolith.crypto import Keyring
from tests.integration.monolith.conftest import v3_key

PHONE = "+14155550100"


def _events(vid: str) -> str:
    return keys.v3_events(keys.bucket(vid[2:18]))


def test_cancel_keeps_the_record_for_retention_and_emits_the_event(
    client: FlaskClient, start: Callable[..., Any], redis_client: redis.Redis, keyring: Keyring,
    stream: Callable[[str], Any], v3_record: Callable[[str], packed.Packed | None],
) -> None:
    vid = start().get_json()["id"]
    assert client.post(f"/api/verifications/{vid}/cancel").status_code == 200
    assert 59_000 < redis_client.pttl(v3_key(vid)) <= 60_000  # retention from now
    record = v3_record(vid)
    assert record is not None and record.status == "canceled"
    [(_id, event)] = stream(_events(vid))
    assert event == {"schema": "3", "type": "verification.canceled", "verification_id": vid,
                     "channel": "sms", "dest_key": keyring.dest_key(
                         "tests", keyring.dest_hash("sms", PHONE)),
                     "client": "tests", "reference": "", "occurred_at": event["occurred_at"]}
    assert list(event) == ["schema", "type", "verification_id", "channel", "dest_key", "client",
                           "reference", "occurred_at"]
    assert not redis_client.exists("vfy:events")
    assert client.post(f"/api/verifications/{vid}/cancel").status_code == 409


def test_expiry_is_reported_then_written_by_a_check(
    make_app: Callable[..., Flask], outbox_codes: Callable[[str], list[str]],
    stream: Callable[[str], Any], v3_record: Callable[[str], packed.Packed | None],
) -> None:
    client = make_app(code_ttl_seconds=1).test_client()
    vid = client.post("/api/verifications", json={"to": PHONE, "channel": "sms"}).get_json()["id"]
    code = outbox_codes(vid)[0]
    time.sleep(1.05)
    assert client.get(f"/api/verifications/{vid}").get_json()["status"] == "expired"
    assert getattr(v3_record(vid), "status", None) == "pending"  # reading never writes
    check = client.post("/api/verification-checks", json={"verification_id": vid, "code": code})
    assert check.status_code == 404
    assert getattr(v3_record(vid), "status", None) == "expired"
    assert [event["type"] for _id, event in stream(_events(vid))] == ["verification.expired"]


def test_cancel_writes_expiry_too(
    make_app: Callable[..., Flask], stream: Callable[[str], Any],
    v3_record: Callable[[str], packed.Packed | None],
) -> None:
    client = make_app(code_ttl_seconds=1).test_client()
    vid = client.post("/api/verifications", json={"to": PHONE, "channel": "sms"}).get_json()["id"]
    time.sleep(1.05)
    assert client.post(f"/api/verifications/{vid}/cancel").status_code == 409
    assert getattr(v3_record(vid), "status", None) == "expired"
    assert [e["type"] for _i, e in stream(_events(vid))] == ["verification.expired"]


def test_a_replaced_verification_is_read_from_the_retained_hash(
    make_app: Callable[..., Flask], redis_client: redis.Redis,
    outbox_codes: Callable[[str], list[str]],
) -> None:
    client = make_app(code_ttl_seconds=1).test_client()
    send = {"to": PHONE, "channel": "sms", "reference": "first"}
    first = client.post("/api/verifications", json=send).get_json()["id"]
    approved = client.post("/api/verifications", json={**send, "to": "ada@example.com",
                                                       "channel": "email"}).get_json()["id"]
    code = outbox_codes(approved)[0]
    assert client.post("/api/verification-checks",
                       json={"verification_id": approved, "code": code}).status_code == 200
    time.sleep(1.05)
    second = client.post("/api/verifications", json={**send, "reference": "second"})
    assert second.status_code == 201 and second.get_json()["id"] != first
    old = client.get(f"/api/verifications/{first}").get_json()
    assert (old["status"], old["reference"]) == ("expired", "first")  # written x when retained
    retained = keys.v3_retained("tests", first[2:18])
    until, _bar, kept = str(redis_client.hget(retained, first[18:])).partition("|")
    assert packed.unpack(kept).status == "expired"
    assert 59_000 < redis_client.pttl(retained) <= 60_000 and int(until) > 0
    assert client.post(f"/api/verifications/{first}/cancel").status_code == 409  # final
    check = client.post("/api/verification-checks", json={"verification_id": first,
                                                          "code": "000000"})
    assert check.status_code == 404
    new = client.get(f"/api/verifications/{second.get_json()['id']}").get_json()
    assert (new["status"], new["reference"]) == ("pending", "second")
    assert client.post("/api/verifications", json={**send, "to": "ada@example.com",
                                                   "channel": "email"}).status_code == 201
    assert client.get(f"/api/verifications/{approved}").get_json()["status"] == "approved"
