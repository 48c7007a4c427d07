"""POST /api/verification-checks: right, wrong, exhausted, used up, malformed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from flask.testing import FlaskClient

PHONE = "+14155550100"
CHECKS = "/api/verification-checks"


def wrong(code: str) -> str:
    return "".join(str((int(digit) + 1) % 10) for digit in code)


def started(start: Callable[..., Any], outbox_codes: Callable[[str], list[str]],
            **kwargs: Any) -> tuple[str, str]:
    vid = start(**kwargs).get_json()["id"]
    return vid, outbox_codes(vid)[0]


def test_right_code_by_to_approves(
    client: FlaskClient, start: Callable[..., Any], outbox_codes: Callable[[str], list[str]]
) -> None:
    vid, code = started(start, outbox_codes)
    response = client.post(CHECKS, json={"to": PHONE, "code": code})
    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == ["verification_id", "to", "channel", "status", "valid",
                          "check_attempts", "remaining_attempts"]
    assert body == {"verification_id": vid, "to": PHONE, "channel": "sms", "status": "approved",
                    "valid": True, "check_attempts": 1, "remaining_attempts": 4}
    assert client.get(f"/api/verifications/{vid}").get_json()["status"] == "approved"


def test_right_code_by_id_and_email_in_any_case(
    client: FlaskClient, start: Callable[..., Any], outbox_codes: Callable[[str], list[str]]
) -> None:
    vid, code = started(start, outbox_codes, to="Ada@Example.com", channel="email")
    wrong_by_to = client.post(CHECKS, json={"to": "ADA@example.COM", "code": wrong(code)})
    assert wrong_by_to.get_json()["check_attempts"] == 1
    body = client.post(CHECKS, json={"verification_id": vid, "code": code}).get_json()
    assert (body["to"], body["status"], body["valid"], body["check_attempts"]) == (
        "ada@example.com", "approved", True, 2,
    )


def test_wrong_codes_then_max_attempts_then_429_even_with_the_right_code(
    client: FlaskClient, start: Callable[..., Any], outbox_codes: Callable[[str], list[str]]
) -> None:
    vid, code = started(start, outbox_codes)
    for attempt in range(1, 5):
        body = client.post(CHECKS, json={"to": PHONE, "code": wrong(code)}).get_json()
        assert (body["status"], body["valid"], body["check_attempts"]) == (
            "pending", False, attempt,
        )
        assert body["remaining_attempts"] == 5 - attempt
    fifth = client.post(CHECKS, json={"verification_id": vid, "code": wrong(code)}).get_json()
    assert (fifth["status"], fifth["valid"], fifth["check_attempts"],
            fifth["remaining_attempts"]) == ("max_attempts_reached", False, 5, 0)
    for request in ({"to": PHONE, "code": code}, {"verification_id": vid, "code": code}):
        refused = client.post(CHECKS, json=request)
        assert refused.status_code == 429
        assert refused.get_json()["code"] == "max_check_attempts_reached"
        assert int(refused.headers["Retry-After"]) >= 1
    record = client.get(f"/api/verifications/{vid}").get_json()
    assert (record["status"], record["check_attempts"]) == ("max_attempts_reached", 5)


def test_an_approved_code_is_used_up(
    client: FlaskClient, start: Callable[..., Any], outbox_codes: Callable[[str], list[str]]
) -> None:
    vid, code = started(start, outbox_codes)
    assert client.post(CHECKS, json={"to": PHONE, "code": code}).status_code == 200
    for request in ({"to": PHONE, "code": code}, {"verification_id": vid, "code": code}):
        assert client.post(CHECKS, json=request).status_code == 404


def test_unknown_verifications_are_not_found(client: FlaskClient) -> None:
    for request in ({"to": PHONE, "code": "123456"},
                    {"verification_id": "VE" + "0" * 32, "code": "123456"},
                    {"verification_id": "VE-not-an-id", "code": "123456"}):
        response = client.post(CHECKS, json=request)
        assert response.status_code == 404
        assert response.get_json()["code"] == "not_found"


def test_a_canceled_verification_is_not_found(
    client: FlaskClient, start: Callable[..., Any], outbox_codes: Callable[[str], list[str]]
) -> None:
    vid, code = started(start, outbox_codes)
    client.post(f"/api/verifications/{vid}/cancel")
    assert client.post(CHECKS, json={"verification_id": vid, "code": code}).status_code == 404


def test_a_malformed_check_does_not_count(
    client: FlaskClient, start: Callable[..., Any], outbox_codes: Callable[[str], list[str]],
    redis_client: redis.Redis,
) -> None:
    vid, _code = started(start, outbox_codes)
    for body, field in [({"to": PHONE}, "code"), ({"to": PHONE, "code": "12"}, "code"),
                        ({"code": "123456"}, "to"),
                        ({"to": PHONE, "verification_id": vid, "code": "123456"}, "to"),
                        ({"verification_id": 7, "code": "123456"}, "verification_id"),
                        ({"to": PHONE, "code": "123456", "x": 1}, "x")]:
        response = client.post(CHECKS, json=body)
        assert response.status_code == 400 and response.get_json()["field"] == field
    assert redis_client.hget(f"vfy:ver:{vid}", "check_attempts") == "0"


def test_a_new_send_after_exhaustion_is_a_new_verification(
    client: FlaskClient, start: Callable[..., Any], outbox_codes: Callable[[str], list[str]]
) -> None:
    vid, code = started(start, outbox_codes)
    for _ in range(5):
        client.post(CHECKS, json={"to": PHONE, "code": wrong(code)})
    fresh = start()
    assert fresh.status_code == 201 and fresh.get_json()["id"] != vid
