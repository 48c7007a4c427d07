"""Odd but valid destinations, read the same way by every side (docs/api.md "Destinations")."""

from __future__ import annotations

import secrets

import pytest

from contract_tests.client import Api
from contract_tests.fresh import fresh_email
from contract_tests.problems import assert_check, assert_problem, assert_verification


def test_an_address_starting_with_plus_is_an_email_on_check_by_to(api: Api) -> None:
    """`+tag@example.com` holds an `@`: a check by `to` reads it as email, not as a bad number."""
    to = f"+{secrets.token_hex(6)}@example.test"
    created, code = api.start(to, "email")
    assert (created["to"], created["channel"]) == (to, "email")
    result = assert_check(api.check(code, to=to))
    assert (result["verification_id"], result["to"], result["channel"], result["status"]) == (
        created["id"], to, "email", "approved")


def test_an_email_in_any_case_is_one_destination(api: Api) -> None:
    to = fresh_email()
    created = assert_verification(api.send(to.upper(), "email"), 201)
    assert created["to"] == to  # stored lower-cased
    # The same destination: a send in another spelling is a resend (too soon), not a new one.
    assert_problem(api.send(to.capitalize(), "email"), "resend_cooldown")
    code = api.inbox.wait_new_code(to)
    mixed = "".join(c.upper() if i % 2 else c for i, c in enumerate(to))
    result = assert_check(api.check(code, to=mixed))
    assert (result["verification_id"], result["to"], result["status"]) == (
        created["id"], to, "approved")


def test_a_plus_tag_is_its_own_destination(api: Api) -> None:
    base = fresh_email()
    tagged = base.replace("@", "+tag@")
    first = assert_verification(api.send(base, "email"), 201)
    second = assert_verification(api.send(tagged, "email"), 201)  # not a resend of the first
    assert first["id"] != second["id"]
    code = api.inbox.wait_new_code(tagged)
    assert assert_check(api.check(code, to=tagged))["verification_id"] == second["id"]
    assert assert_verification(api.get(first["id"]), 200)["status"] == "pending"


def test_an_idn_domain_is_accepted_as_its_a_label(api: Api) -> None:
    to = f"u{secrets.token_hex(6)}@xn--bcher-kva.example"
    created, code = api.start(to, "email")
    assert created["to"] == to
    assert assert_check(api.check(code, to=to))["status"] == "approved"


@pytest.mark.parametrize(
    ("to", "channel"),
    [(" ada@example.com", "email"), ("ada@example.com ", "email"), (" +14155550100", "sms"),
     ("+14155550100 ", "sms"), ("+1 415 555 0100", "sms"), ("ada@bücher.example", "email"),
     ("ädä@example.com", "email"), ("14155550100", "sms")],
)
def test_spaces_and_unicode_make_a_destination_invalid(api: Api, to: str, channel: str) -> None:
    """Nothing is trimmed or converted: on send and on check by `to` alike (field `to`)."""
    assert_problem(api.send(to, channel), "invalid_parameter", "to")
    assert_problem(api.check("123456", to=to), "invalid_parameter", "to")
