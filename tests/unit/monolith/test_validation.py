"""Validation rules of docs/api.md, in their documented order."""

from __future__ import annotations

from typing import Any

import pytest

from monolith.problems import Problem
from monolith.validation import (
    CheckRequest,
    SendRequest,
    UserRequest,
    parse_check,
    parse_idempotency_key,
    parse_send,
    parse_user,
)


def field_of(parse: Any, body: Any) -> str | None:
    with pytest.raises(Problem) as raised:
        parse(body)
    assert raised.value.code == "invalid_parameter"
    return raised.value.field


def test_a_valid_sms_send() -> None:
    assert parse_send({"to": "+14155550100", "channel": "sms"}) == SendRequest(
        "+14155550100", "sms", None
    )


def test_email_is_lower_cased_and_locale_kept() -> None:
    parsed = parse_send({"to": "Ada@Example.COM", "channel": "email", "locale": "pt-BR"})
    assert parsed == SendRequest("ada@example.com", "email", "pt-BR")


def test_null_locale_is_no_locale() -> None:
    assert parse_send({"to": "+14155550100", "channel": "sms", "locale": None}).locale is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ("text", "body"),
        (None, "body"),
        ({"to": "+14155550100", "channel": "sms", "zeta": 1, "alpha": 2}, "alpha"),
        ({"to": "+14155550100", "channel": "fax", "bogus": 1}, "bogus"),  # unknown first
        ({"to": "+14155550100"}, "channel"),
        ({"to": "+14155550100", "channel": 1}, "channel"),
        ({"to": "+14155550100", "channel": "SMS"}, "channel"),
        ({"channel": "sms"}, "to"),
        ({"to": 14155550100, "channel": "sms"}, "to"),
        ({"to": "14155550100", "channel": "sms"}, "to"),
        ({"to": "+0123456789", "channel": "sms"}, "to"),
        ({"to": "+12345", "channel": "sms"}, "to"),  # too short
        ({"to": "+1234567890123456", "channel": "sms"}, "to"),  # too long
        ({"to": "+14155550100\n", "channel": "sms"}, "to"),
        ({"to": "ada@example.com", "channel": "sms"}, "to"),
        ({"to": "+14155550100", "channel": "email"}, "to"),
        ({"to": "ada@localhost", "channel": "email"}, "to"),
        ({"to": "adä@example.com", "channel": "email"}, "to"),
        ({"to": "a" * 243 + "@example.com", "channel": "email"}, "to"),  # 255 characters
        ({"to": "+14155550100", "channel": "sms", "locale": "EN"}, "locale"),
        ({"to": "+14155550100", "channel": "sms", "locale": "pt-br"}, "locale"),
        ({"to": "+14155550100", "channel": "sms", "locale": "été"}, "locale"),
        ({"to": "+14155550100", "channel": "sms", "locale": 5}, "locale"),
    ],
)
def test_send_rules_name_the_first_failing_field(body: Any, field: str) -> None:
    assert field_of(parse_send, body) == field


def test_longest_email_is_accepted() -> None:
    address = "a" * 242 + "@example.com"  # 254 characters
    assert parse_send({"to": address, "channel": "email"}).to == address


@pytest.mark.parametrize(
    ("value", "ok"),
    [("k", True), ("x" * 255, True), ("!~", True), ("", False), ("x" * 256, False),
     ("has space", False), ("tab\t", False), ("é", False), (None, True)],
)
def test_idempotency_key(value: str | None, ok: bool) -> None:
    if ok:
        assert parse_idempotency_key(value) == value
    else:
        assert field_of(parse_idempotency_key, value) == "Idempotency-Key"


def test_check_by_to_and_by_id() -> None:
    assert parse_check({"to": "Ada@Example.com", "code": "1234"}) == CheckRequest(
        code="1234", to="ada@example.com", channel="email"
    )
    vid = "VE" + "a" * 32
    assert parse_check({"verification_id": vid, "code": "0123456789"}) == CheckRequest(
        code="0123456789", verification_id=vid
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to": "+14155550100", "code": "123456", "extra": 1}, "extra"),
        ({"code": "123456"}, "to"),
        ({"to": "+14155550100", "verification_id": "VE" + "a" * 32, "code": "123456"}, "to"),
        ({"to": "+14155550100"}, "code"),
        ({"to": "+14155550100", "code": 123456}, "code"),
        ({"to": "+14155550100", "code": "123"}, "code"),
        ({"to": "+14155550100", "code": "12345678901"}, "code"),
        ({"to": "+14155550100", "code": "12a456"}, "code"),
        ({"to": "+14155550100", "code": "١٢٣٤٥٦"}, "code"),  # non-ASCII digits
        ({"to": "14155550100", "code": "123456"}, "to"),
        ({"to": "+1415", "code": "123456"}, "to"),
        ({"to": "ada@", "code": "123456"}, "to"),
        ({"to": None, "code": "123456"}, "to"),
        ({"verification_id": 5, "code": "123456"}, "verification_id"),
    ],
)
def test_check_rules(body: dict[str, Any], field: str) -> None:
    assert field_of(parse_check, body) == field


def test_an_address_starting_with_plus_is_an_email() -> None:
    parsed = parse_check({"to": "+tag@Example.com", "code": "1234"})
    assert (parsed.channel, parsed.to) == ("email", "+tag@example.com")


def test_a_verification_id_of_the_wrong_form_is_not_found() -> None:
    with pytest.raises(Problem) as raised:
        parse_check({"verification_id": "VE123", "code": "123456"})
    assert raised.value.code == "not_found"


def test_user_rules() -> None:
    assert parse_user({"name": "Ada", "email": "ADA@example.com", "phone": None}) == UserRequest(
        "Ada", None, "ada@example.com"
    )
    assert field_of(parse_user, {"name": "", "phone": "+14155550100"}) == "name"
    assert field_of(parse_user, {"name": "x" * 101, "phone": "+14155550100"}) == "name"
    assert field_of(parse_user, {"name": "Ada"}) == "phone"
    assert field_of(parse_user, {"name": "Ada", "phone": "123"}) == "phone"
    assert field_of(parse_user, {"name": "Ada", "email": "nope"}) == "email"
    assert field_of(parse_user, {"name": "Ada", "email": "a@b.co", "age": 3}) == "age"


@pytest.mark.parametrize(("value", "stored"), [
    ("203.0.113.5", "203.0.113.5"), ("2001:DB8::1", "2001:db8::1"),
    ("::ffff:203.0.113.5", "203.0.113.5"), ("203.0.113.5:80", None), ("[2001:db8::1]", None),
    ("fe80::1%eth0", None), (" 203.0.113.5", None), ("localhost", None), (7, None),
])
def test_end_user_ip(value: object, stored: str | None) -> None:
    body = {"to": "+14155550100", "channel": "sms", "end_user_ip": value}
    if stored is not None:
        assert parse_send(body).end_user_ip == stored
    else:
        assert field_of(parse_send, body) == "end_user_ip"


@pytest.mark.parametrize(("value", "ok"), [
    ("a", True), (" ~", True), ("x" * 64, True), ("", False), ("x" * 65, False),
    ("caf\u00e9", False), ("tab\t", False), (42, False),
])
def test_reference(value: object, ok: bool) -> None:
    body = {"to": "+14155550100", "channel": "sms", "reference": value}
    if ok:
        assert parse_send(body).reference == value
    else:
        assert field_of(parse_send, body) == "reference"
