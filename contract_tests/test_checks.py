"""POST /api/verification-checks: right, wrong, exhausted, malformed; by id and by destination."""

from __future__ import annotations

import pytest

from contract_tests.client import Api
from contract_tests.fresh import fresh_email, fresh_id, fresh_phone, wrong_code
from contract_tests.policy import Policy
from contract_tests.problems import (
    assert_check,
    assert_problem,
    assert_verification,
    describe,
    retry_after,
)


def test_right_code_by_id_approves_exactly_once(api: Api, policy: Policy) -> None:
    created, code = api.start()
    result = assert_check(api.check(code, verification_id=created["id"]))
    assert result == {
        "verification_id": created["id"], "to": created["to"], "channel": "sms",
        "status": "approved", "valid": True, "check_attempts": 1,
        "remaining_attempts": policy.max_checks - 1,
    }
    assert_problem(api.check(code, verification_id=created["id"]), "not_found")
    assert_problem(api.check(code, to=created["to"]), "not_found")
    after = assert_verification(api.get(created["id"]), 200)
    assert (after["status"], after["check_attempts"]) == ("approved", 1)


def test_right_code_by_destination_approves_exactly_once(api: Api, policy: Policy) -> None:
    created, code = api.start()
    result = assert_check(api.check(code, to=created["to"]))
    assert result == {
        "verification_id": created["id"], "to": created["to"], "channel": "sms",
        "status": "approved", "valid": True, "check_attempts": 1,
        "remaining_attempts": policy.max_checks - 1,
    }
    assert_problem(api.check(code, to=created["to"]), "not_found")
    assert assert_verification(api.get(created["id"]), 200)["status"] == "approved"


def test_email_checks_by_destination_ignore_case(api: Api) -> None:
    to = fresh_email()
    mixed = to[0].upper() + to[1:].replace("@example", "@Example")
    created = assert_verification(api.send(mixed, "email"), 201)
    code = api.inbox.wait_new_code(to)
    wrong = assert_check(api.check(wrong_code(code), to=to.upper()))
    assert (wrong["verification_id"], wrong["to"], wrong["check_attempts"]) == (
        created["id"], to, 1)
    result = assert_check(api.check(code, to=mixed))
    assert (result["verification_id"], result["to"], result["channel"]) == (
        created["id"], to, "email")
    assert (result["status"], result["check_attempts"]) == ("approved", 2)


def test_wrong_code_counts_and_tells_remaining_attempts(api: Api, policy: Policy) -> None:
    created, code = api.start()
    result = assert_check(api.check(wrong_code(code), verification_id=created["id"]))
    assert result == {
        "verification_id": created["id"], "to": created["to"], "channel": "sms",
        "status": "pending", "valid": False, "check_attempts": 1,
        "remaining_attempts": policy.max_checks - 1,
    }
    by_to = assert_check(api.check(wrong_code(code), to=created["to"]))
    assert (by_to["check_attempts"], by_to["remaining_attempts"]) == (2, policy.max_checks - 2)
    assert assert_verification(api.get(created["id"]), 200)["check_attempts"] == 2
    assert assert_check(api.check(code, to=created["to"]))["status"] == "approved"


@pytest.mark.parametrize("by", ["verification_id", "to"])
def test_last_wrong_code_exhausts_then_even_the_right_code_is_429(
    api: Api, policy: Policy, by: str
) -> None:
    created, code = api.start()
    locator = {by: created["id"] if by == "verification_id" else created["to"]}
    for attempt in range(1, policy.max_checks + 1):
        result = assert_check(api.check(wrong_code(code), **locator))
        last = attempt == policy.max_checks
        assert result["status"] == ("max_attempts_reached" if last else "pending")
        assert result["valid"] is False
        assert result["check_attempts"] == attempt
        assert result["remaining_attempts"] == policy.max_checks - attempt
    # Refused by id and by `to` alike (the destination still points at it until the TTL ends),
    # with Retry-After until the verification expires.
    for refused in (api.check(code, verification_id=created["id"]),
                    api.check(code, to=created["to"])):
        assert_problem(refused, "max_check_attempts_reached")
        assert retry_after(refused) <= policy.code_ttl_seconds, describe(refused)
    after = assert_verification(api.get(created["id"]), 200)
    assert (after["status"], after["check_attempts"]) == ("max_attempts_reached", policy.max_checks)
    # A new send cannot reset the budget: refused until the exhausted verification expires.
    renewed = api.send(created["to"], "sms")
    assert_problem(renewed, "max_check_attempts_reached")
    assert retry_after(renewed) <= policy.code_ttl_seconds, describe(renewed)


def test_malformed_checks_do_not_count(api: Api) -> None:
    created, code = api.start()
    for bad in ("12", "abcdef", "12345678901", 123456):
        assert_problem(api.check(bad, verification_id=created["id"]), "invalid_parameter", "code")
        assert_problem(api.check(bad, to=created["to"]), "invalid_parameter", "code")
    for body, field in [
        ({"to": created["to"]}, "code"),
        ({"verification_id": created["id"]}, "code"),
        ({"to": created["to"], "verification_id": created["id"], "code": code}, "to"),
        ({"to": created["to"], "code": code, "x": 1}, "x"),
        ({"verification_id": created["id"], "code": code, "x": 1}, "x"),
    ]:
        assert_problem(api.check(body=body), "invalid_parameter", field)
    assert assert_verification(api.get(created["id"]), 200)["check_attempts"] == 0
    assert assert_check(api.check(code, verification_id=created["id"]))["check_attempts"] == 1


def test_check_without_a_verification_is_404(api: Api) -> None:
    assert_problem(api.check("123456", to=fresh_phone()), "not_found")
    assert_problem(api.check("123456", to=fresh_email()), "not_found")
    assert_problem(api.check("123456", verification_id=fresh_id()), "not_found")
    assert_problem(api.check("123456", verification_id="VE-not-an-id"), "not_found")
    assert_problem(api.check("123456", verification_id="VE123"), "not_found")


def test_check_by_destination_uses_the_channel_of_its_form(api: Api) -> None:
    """A phone verification is not found through an email-looking destination, and back."""
    phone, phone_code = api.start()
    assert_problem(api.check(phone_code, to=fresh_email()), "not_found")
    assert assert_check(api.check(phone_code, to=phone["to"]))["channel"] == "sms"
