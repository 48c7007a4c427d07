"""Verifications owned by their client (storage contract v2, kept by v3): per-client idempotency
and limits, end_user_ip and reference; version-1 records are no longer read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from monolith import keys, packed
from monolith.crypto import Keyring
from tests.integration.monolith.conftest import v3_key
from tests.support.api_keys import IssuedKey, new_key, shared_key, write_keyring

PHONE = "+14155550100"
OTHER_PHONE = "+14155550101"
SEND = "/api/verifications"
CHECK = "/api/verification-checks"


@pytest.fixture
def other_key() -> IssuedKey:
    return new_key("other")


@pytest.fixture
def two_clients(
    make_app: Callable[..., Flask], tmp_path: Path, other_key: IssuedKey
) -> Callable[..., tuple[FlaskClient, FlaskClient]]:
    """An app whose keyring holds the tests' key and another client's; (tests, other) clients."""

    def build(**overrides: Any) -> tuple[FlaskClient, FlaskClient]:
        keyring_file = write_keyring(tmp_path / "keyring.json", shared_key(), other_key)
        app = make_app(keyring_file=str(keyring_file), **overrides)
        other = app.test_client()
        other.environ_base["HTTP_AUTHORIZATION"] = other_key.authorization["Authorization"]
        return app.test_client(), other

    return build


def send(client: FlaskClient, to: str = PHONE, **body: Any) -> Any:
    return client.post(SEND, json={"to": to, "channel": "sms", **body})


def test_another_clients_verification_does_not_exist(
    two_clients: Callable[..., tuple[FlaskClient, FlaskClient]],
    outbox_codes: Callable[[str], list[str]],
) -> None:
    mine, other = two_clients()
    vid = send(mine).get_json()["id"]
    code = outbox_codes(vid)[0]
    assert other.get(f"{SEND}/{vid}").status_code == 404
    assert other.post(f"{SEND}/{vid}/cancel").status_code == 404
    assert other.post(CHECK, json={"verification_id": vid, "code": code}).status_code == 404
    assert other.post(CHECK, json={"to": PHONE, "code": code}).status_code == 404
    # the other client has its own verification for the same person, own code and send count
    theirs = send(other)
    assert theirs.status_code == 201 and theirs.get_json()["id"] != vid
    assert send(mine).get_json()["send_attempts"] == 2  # a resend of mine, not of theirs
    assert mine.post(CHECK, json={"to": PHONE, "code": code}).get_json()["status"] == "approved"
    assert other.get(f"{SEND}/{theirs.get_json()['id']}").get_json()["status"] == "pending"


def test_idempotency_keys_are_per_client(
    two_clients: Callable[..., tuple[FlaskClient, FlaskClient]],
) -> None:
    mine, other = two_clients()
    headers = {"Idempotency-Key": "same-key"}
    first = mine.post(SEND, json={"to": PHONE, "channel": "sms"}, headers=headers)
    theirs = other.post(SEND, json={"to": PHONE, "channel": "sms"}, headers=headers)
    assert first.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.get_json()["id"] != first.get_json()["id"]
    reused = other.post(SEND, json={"to": OTHER_PHONE, "channel": "sms"}, headers=headers)
    assert reused.get_json()["code"] == "idempotency_key_reused"  # their own key, now used
    replay = mine.post(SEND, json={"to": PHONE, "channel": "sms"}, headers=headers)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == first.get_json()


def test_a_new_send_does_not_reset_an_exhausted_check_budget(
    two_clients: Callable[..., tuple[FlaskClient, FlaskClient]],
) -> None:
    mine, other = two_clients(max_checks=2)
    vid = send(mine).get_json()["id"]
    for _ in range(2):
        mine.post(CHECK, json={"verification_id": vid, "code": "000000"})
    assert mine.get(f"{SEND}/{vid}").get_json()["status"] == "max_attempts_reached"
    refused = send(mine)
    assert refused.status_code == 429
    assert refused.get_json()["code"] == "max_check_attempts_reached"
    assert 110 <= int(refused.headers["Retry-After"]) <= 120  # until expires_at (code TTL 120 s)
    assert send(other).status_code == 201  # not the other client's verification


def test_failed_checks_per_client_and_destination_are_limited(
    two_clients: Callable[..., tuple[FlaskClient, FlaskClient]], redis_client: redis.Redis,
    keyring: Keyring, outbox_codes: Callable[[str], list[str]],
) -> None:
    mine, other = two_clients(dest_failed_checks_per_day=2, max_checks=5)
    vid = send(mine).get_json()["id"]
    code = outbox_codes(vid)[0]
    for _ in range(2):
        assert mine.post(CHECK, json={"to": PHONE, "code": "000000"}).status_code == 200
    for body in ({"to": PHONE, "code": code}, {"verification_id": vid, "code": code}):
        refused = mine.post(CHECK, json=body)
        assert refused.status_code == 429 and refused.get_json()["code"] == "rate_limited"
        assert 86_390 <= int(refused.headers["Retry-After"]) <= 86_400
    assert mine.get(f"{SEND}/{vid}").get_json()["check_attempts"] == 2  # refused: not counted
    refused_send = send(mine)
    assert refused_send.status_code == 429 and refused_send.get_json()["code"] == "rate_limited"
    assert send(mine, OTHER_PHONE).status_code == 201  # another destination
    dest_key = keyring.dest_key("tests", keyring.dest_hash("sms", PHONE))
    assert redis_client.get(keys.v3_failed_checks("tests", dest_key)) == "2"
    # another client's checks of the same person are their own budget
    theirs = send(other).get_json()["id"]
    approved = other.post(CHECK, json={"to": PHONE, "code": outbox_codes(theirs)[0]})
    assert approved.get_json()["status"] == "approved"


def test_sends_per_client_are_limited(
    two_clients: Callable[..., tuple[FlaskClient, FlaskClient]],
) -> None:
    mine, other = two_clients(client_send_limit=2)
    assert send(mine).status_code == 201
    assert send(mine).status_code == 200  # a resend counts too
    refused = send(mine, OTHER_PHONE)
    assert refused.status_code == 429 and refused.get_json()["code"] == "rate_limited"
    assert 50 <= int(refused.headers["Retry-After"]) <= 3600
    assert send(other, OTHER_PHONE).status_code == 201


def test_end_user_ip_is_what_the_ip_limit_counts(
    make_app: Callable[..., Flask], redis_client: redis.Redis, keyring: Keyring,
) -> None:
    client = make_app(ip_limit=1).test_client()
    assert send(client, end_user_ip="::ffff:203.0.113.5").status_code == 201
    refused = send(client, OTHER_PHONE, end_user_ip="203.0.113.5")
    assert refused.status_code == 429 and refused.get_json()["code"] == "rate_limited"
    assert send(client, OTHER_PHONE, end_user_ip="2001:db8::1").status_code == 201
    assert send(client, "+14155550102", end_user_ip="2001:db8::2").status_code == 429  # same /64
    assert send(client, "+14155550102").status_code == 201  # the client IP's own budget
    assert redis_client.get(f"vfy:rl:ip:{keyring.ip_hash('203.0.113.5')}") == "1"
    bad = send(client, "+14155550103", end_user_ip="203.0.113.5:80")
    assert bad.status_code == 400 and bad.get_json()["field"] == "end_user_ip"


def test_reference_is_stored_returned_and_on_the_events(
    client: FlaskClient, redis_client: redis.Redis, stream: Callable[[str], Any],
    outbox_codes: Callable[[str], list[str]],
) -> None:
    created = send(client, reference="order 42")
    body = created.get_json()
    assert list(body)[3:5] == ["locale", "reference"] and body["reference"] == "order 42"
    vid = body["id"]
    assert packed.unpack(str(redis_client.get(v3_key(vid)))).reference == "order 42"
    resent = send(client, reference="ignored on a resend").get_json()
    assert resent["reference"] == "order 42"
    assert client.get(f"{SEND}/{vid}").get_json()["reference"] == "order 42"
    client.post(CHECK, json={"to": PHONE, "code": outbox_codes(vid)[0]})
    [(_id, event)] = stream(keys.v3_events(keys.bucket(vid[2:18])))
    assert event["type"] == "verification.approved" and event["schema"] == "3"
    assert event["client"] == "tests" and event["reference"] == "order 42"
    other = send(client, OTHER_PHONE).get_json()
    assert other["reference"] is None
    bad = send(client, "+14155550102", reference="caf\u00e9")
    assert bad.status_code == 400 and bad.get_json()["field"] == "reference"


def write_v1(
    redis_client: redis.Redis, keyring: Keyring, vid: str, to: str, code: str
) -> str:
    """A record and pending index exactly as storage contract version 1 describes them (no longer
    read; tests/integration/monolith/test_users_events.py still imports this)."""
    now_ms = int(float(redis_client.time()[0]) * 1000)
    dest_hash = keyring.dest_hash("sms", to)
    redis_client.hset(f"vfy:ver:{vid}", mapping={
        "v": "1", "id": vid, "to": to, "channel": "sms", "locale": "", "status": "pending",
        "code_mac": keyring.code_mac(code), "code_sealed": keyring.seal_code(vid, code),
        "dest_hash": dest_hash, "send_attempts": "1", "check_attempts": "0",
        "created_at": str(now_ms - 60_000), "expires_at": str(now_ms + 60_000),
        "last_sent_at": str(now_ms - 60_000),
    })
    redis_client.pexpire(f"vfy:ver:{vid}", 120_000 + 60_000)
    redis_client.set(f"vfy:pending:{dest_hash}", vid, px=60_000)
    return dest_hash


def test_v1_records_are_no_longer_read(
    client: FlaskClient, redis_client: redis.Redis, keyring: Keyring,
) -> None:
    vid = "VE" + "a" * 32
    write_v1(redis_client, keyring, vid, PHONE, "123456")
    assert client.get(f"{SEND}/{vid}").status_code == 404
    assert client.post(CHECK, json={"to": PHONE, "code": "123456"}).status_code == 404
    assert client.post(CHECK, json={"verification_id": vid, "code": "123456"}).status_code == 404
    assert client.post(f"{SEND}/{vid}/cancel").status_code == 404
    fresh = send(client)
    assert fresh.status_code == 201 and fresh.get_json()["id"] != vid
    assert redis_client.hget(f"vfy:ver:{vid}", "status") == "pending"  # never written either


def test_a_v1_index_naming_a_v2_record_is_not_used(
    two_clients: Callable[..., tuple[FlaskClient, FlaskClient]], redis_client: redis.Redis,
    keyring: Keyring, outbox_codes: Callable[[str], list[str]],
) -> None:
    mine, other = two_clients()
    vid = send(mine).get_json()["id"]
    redis_client.set(f"vfy:pending:{keyring.dest_hash('sms', PHONE)}", vid, px=60_000)
    code = outbox_codes(vid)[0]
    assert other.post(CHECK, json={"to": PHONE, "code": code}).status_code == 404
    assert send(other).status_code == 201  # its own new verification, not a resend of mine
