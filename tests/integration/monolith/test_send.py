"""POST /api/verifications: create, resend, cooldown, max sends, limits, the outbox step."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask
from flask.testing import FlaskClient

from monolith.crypto import Keyring

PHONE = "+14155550100"
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def test_create_answers_201_with_location_and_members_in_order(
    start: Callable[..., Any], outbox_codes: Callable[[str], list[str]]
) -> None:
    response = start()
    assert response.status_code == 201
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == ["id", "to", "channel", "locale", "status", "send_attempts",
                          "check_attempts", "created_at", "expires_at"]
    assert re.fullmatch(r"VE[0-9a-f]{32}", body["id"])
    assert response.headers["Location"] == f"/api/verifications/{body['id']}"
    assert body | {"id": "", "created_at": "", "expires_at": ""} == {
        "id": "", "to": PHONE, "channel": "sms", "locale": None, "status": "pending",
        "send_attempts": 1, "check_attempts": 0, "created_at": "", "expires_at": "",
    }
    assert TIME.fullmatch(body["created_at"]) and TIME.fullmatch(body["expires_at"])
    codes = outbox_codes(body["id"])
    assert len(codes) == 1 and re.fullmatch(r"[0-9]{6}", codes[0])
    assert codes[0] not in response.get_data(as_text=True)


def test_record_index_and_job_follow_the_storage_contract(
    start: Callable[..., Any], redis_client: redis.Redis, keyring: Keyring,
    outbox_codes: Callable[[str], list[str]], stream: Callable[[str], Any],
) -> None:
    body = start().get_json()
    vid = body["id"]
    record = redis_client.hgetall(f"vfy:ver:{vid}")
    code = outbox_codes(vid)[0]
    dest_hash = keyring.dest_hash("sms", PHONE)
    assert set(record) == {"v", "id", "to", "channel", "locale", "status", "code_mac",
                           "code_sealed", "dest_hash", "send_attempts", "check_attempts",
                           "created_at", "expires_at", "last_sent_at"}
    assert record["v"] == "1" and record["locale"] == "" and record["dest_hash"] == dest_hash
    assert record["code_mac"] == keyring.code_mac(code)
    assert int(record["expires_at"]) - int(record["created_at"]) == 120_000
    assert record["last_sent_at"] == record["created_at"]
    assert redis_client.get(f"vfy:pending:{dest_hash}") == vid
    assert 119_000 < redis_client.pttl(f"vfy:pending:{dest_hash}") <= 120_000
    assert 179_000 < redis_client.pttl(f"vfy:ver:{vid}") <= 180_000
    [(_entry_id, job)] = stream("vfy:outbox")
    assert job == {"verification_id": vid, "channel": "sms", "to": PHONE, "locale": "",
                   "code_sealed": record["code_sealed"], "send_attempt": "1",
                   "enqueued_at": record["created_at"]}
    assert redis_client.get(f"vfy:rl:dest:{dest_hash}") == "1"
    assert redis_client.get(f"vfy:rl:ip:{keyring.ip_hash('127.0.0.1')}") == "1"


def test_email_is_stored_lower_cased_with_its_locale(client: FlaskClient) -> None:
    response = client.post(
        "/api/verifications",
        json={"to": "Ada.Lovelace@Example.COM", "channel": "email", "locale": "pt-BR"},
    )
    assert response.status_code == 201
    body = response.get_json()
    assert (body["to"], body["channel"], body["locale"]) == (
        "ada.lovelace@example.com", "email", "pt-BR",
    )


def test_resend_keeps_the_id_and_the_code(
    start: Callable[..., Any], outbox_codes: Callable[[str], list[str]],
    redis_client: redis.Redis, stream: Callable[[str], Any],
) -> None:
    first = start().get_json()
    again = start()
    assert again.status_code == 200
    assert "Location" not in again.headers
    body = again.get_json()
    assert body["id"] == first["id"] and body["send_attempts"] == 2
    assert body["created_at"] == first["created_at"]
    codes = outbox_codes(first["id"])
    assert len(codes) == 2 and codes[0] == codes[1]
    jobs = [fields["send_attempt"] for _id, fields in stream("vfy:outbox")]
    assert jobs == ["1", "2"]


def test_resend_within_the_cooldown_is_refused(make_app: Callable[..., Flask]) -> None:
    client = make_app(resend_cooldown_seconds=30).test_client()
    body = {"to": PHONE, "channel": "sms"}
    assert client.post("/api/verifications", json=body).status_code == 201
    refused = client.post("/api/verifications", json=body)
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert refused.get_json()["code"] == "resend_cooldown"
    assert refused.get_json()["title"] == "Resend too soon"
    assert 29 <= int(refused.headers["Retry-After"]) <= 30


def test_max_sends_then_429_until_expiry(
    start: Callable[..., Any], outbox_codes: Callable[[str], list[str]]
) -> None:
    first = start().get_json()
    for _ in range(4):
        assert start().status_code == 200
    refused = start()
    assert refused.status_code == 429
    assert refused.get_json()["code"] == "max_send_attempts_reached"
    assert 119 <= int(refused.headers["Retry-After"]) <= 120
    assert len(outbox_codes(first["id"])) == 5


def test_destination_limit_counts_only_sends_that_happen(
    make_app: Callable[..., Flask], redis_client: redis.Redis, keyring: Keyring
) -> None:
    client = make_app(dest_limit=3, max_sends=10).test_client()
    body = {"to": PHONE, "channel": "sms"}
    statuses = [client.post("/api/verifications", json=body).status_code for _ in range(3)]
    assert statuses == [201, 200, 200]
    refused = client.post("/api/verifications", json=body)
    assert refused.status_code == 429 and refused.get_json()["code"] == "rate_limited"
    assert refused.get_json()["detail"] == "Too many verifications were sent; retry later."
    assert 59 <= int(refused.headers["Retry-After"]) <= 60
    assert redis_client.get(f"vfy:rl:dest:{keyring.dest_hash('sms', PHONE)}") == "3"
    # another destination is not limited by this one
    other = client.post("/api/verifications", json={"to": "+14155550199", "channel": "sms"})
    assert other.status_code == 201


def test_destination_limit_also_refuses_a_new_verification(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app(dest_limit=1).test_client()
    vid = client.post("/api/verifications", json={"to": PHONE, "channel": "sms"}).get_json()["id"]
    assert client.post(f"/api/verifications/{vid}/cancel").status_code == 200
    refused = client.post("/api/verifications", json={"to": PHONE, "channel": "sms"})
    assert refused.status_code == 429 and refused.get_json()["code"] == "rate_limited"


def test_ip_limit_counts_per_client_ip(make_app: Callable[..., Flask]) -> None:
    client = make_app(ip_limit=2).test_client()

    def send(n: int, peer: str) -> Any:
        return client.post(
            "/api/verifications", json={"to": f"+1415555{n:04d}", "channel": "sms"},
            environ_base={"REMOTE_ADDR": peer},
        )

    assert [send(n, "198.51.100.1").status_code for n in range(2)] == [201, 201]
    refused = send(2, "198.51.100.1")
    assert refused.status_code == 429 and refused.get_json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert send(3, "198.51.100.2").status_code == 201


def test_forwarded_for_counts_only_behind_a_trusted_proxy(
    make_app: Callable[..., Flask],
) -> None:
    from monolith.settings import parse_trusted_proxies

    client = make_app(ip_limit=1, trusted_proxies=parse_trusted_proxies("10.0.0.0/8")).test_client()

    def send(n: int, peer: str, forwarded: str) -> int:
        return int(client.post(
            "/api/verifications", json={"to": f"+1415555{n:04d}", "channel": "sms"},
            headers={"X-Forwarded-For": forwarded}, environ_base={"REMOTE_ADDR": peer},
        ).status_code)

    assert send(0, "10.0.0.5", "203.0.113.1") == 201
    assert send(1, "10.0.0.5", "203.0.113.2") == 201  # another client behind the proxy
    assert send(2, "10.0.0.5", "203.0.113.1") == 429  # the first one again
    assert send(3, "198.51.100.9", "203.0.113.3") == 201  # untrusted peer: header ignored
    assert send(4, "198.51.100.9", "203.0.113.4") == 429  # ... so it cannot change its IP
