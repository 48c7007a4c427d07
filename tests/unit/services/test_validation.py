"""Validation rules of docs/api.md, without HTTP: the first failure names the field."""

from __future__ import annotations

from typing import Any

import pytest

from services.verification.codes import (
    generate_code,
    new_v2_verification_id,
    new_v3_verification_id,
)
from services.verification.errors import InvalidParameter
from services.verification.validation import (
    check_idempotency_key,
    is_verification_id,
    parse_check_body,
    parse_send_body,
)


def field_of(parse: Any, body: Any) -> str:
    with pytest.raises(InvalidParameter) as caught:
        parse(body)
    return caught.value.field


@pytest.mark.parametrize(
    ("to", "channel", "stored"),
    [("+14155550100", "sms", "+14155550100"), ("+33612345678", "sms", "+33612345678"),
     ("+330612345678", "sms", "+33612345678"),  # stored in canonical E.164
     ("Ada.Lovelace@Example.COM", "email", "ada.lovelace@example.com"),
     ("a+b/c{d}|e~f@sub-1.example.co", "email", "a+b/c{d}|e~f@sub-1.example.co")],
)
def test_valid_destinations(to: str, channel: str, stored: str) -> None:
    assert parse_send_body({"to": to, "channel": channel}).to == stored


@pytest.mark.parametrize(
    "to", ["+123456", "+1234567890123456", "+0123456789", "14155550100", "+1415555010a",
           "+14155550100\n", " +14155550100",
           "+1234567", "+123456789012345", "+15550100999"],  # E.164-shaped, not valid numbers
)
def test_bad_phone(to: str) -> None:
    assert field_of(parse_send_body, {"to": to, "channel": "sms"}) == "to"


@pytest.mark.parametrize(
    "to", ["ada", "ada@", "@example.com", "ada@example", "ada@-example.com", "ada@example-.com",
           "ada lovelace@example.com", "ädä@example.com", "ada@exämple.com",
           "a" * 243 + "@example.com", "ada@" + "a" * 64 + ".com", "ada@example.com\n"],
)
def test_bad_email(to: str) -> None:
    assert field_of(parse_send_body, {"to": to, "channel": "email"}) == "to"


def test_email_length_limit_is_254() -> None:
    at_limit = "a" * 242 + "@example.com"
    assert len(at_limit) == 254
    assert parse_send_body({"to": at_limit, "channel": "email"}).to == at_limit


@pytest.mark.parametrize("locale", ["en", "pt-BR", None])
def test_good_locale(locale: str | None) -> None:
    assert parse_send_body({"to": "+14155550100", "channel": "sms", "locale": locale}).locale == (
        locale
    )


@pytest.mark.parametrize("locale", ["", "EN", "eng", "pt_BR", "pt-br", "pt-BRA", "été", 1, True])
def test_bad_locale(locale: Any) -> None:
    body = {"to": "+14155550100", "channel": "sms", "locale": locale}
    assert field_of(parse_send_body, body) == "locale"


def test_order_unknown_before_channel_before_to() -> None:
    assert field_of(parse_send_body, {"b": 1, "a": 2, "channel": "x"}) == "a"
    assert field_of(parse_send_body, {"to": "bad", "channel": "bad"}) == "channel"
    assert field_of(parse_send_body, {"to": "bad", "channel": "sms", "locale": "x"}) == "to"
    assert field_of(parse_send_body, None) == "body"


def test_check_rules() -> None:
    assert parse_check_body({"to": "+14155550100", "code": "0000"}).channel == "sms"
    assert parse_check_body({"to": "A@B.example", "code": "0000"}).to == "a@b.example"
    by_id = parse_check_body({"verification_id": "anything", "code": "0123456789"})
    assert by_id.verification_id == "anything"
    assert field_of(parse_check_body, {"code": "1", "zz": 1}) == "zz"
    assert field_of(parse_check_body, {"code": "1"}) == "to"
    assert field_of(parse_check_body, {"to": "x", "verification_id": "y", "code": "1"}) == "to"
    assert field_of(parse_check_body, {"to": "x", "code": "1"}) == "code"
    assert field_of(parse_check_body, {"to": "x", "code": "1234"}) == "to"
    assert field_of(parse_check_body, {"to": None, "code": "1234"}) == "to"
    assert field_of(parse_check_body, {"verification_id": None, "code": "1234"}) == (
        "verification_id")


def test_an_address_starting_with_plus_is_an_email() -> None:
    """The channel of a check's `to` is email when it holds an `@`, whatever it starts with."""
    parsed = parse_check_body({"to": "+tag@Example.com", "code": "1234"})
    assert (parsed.channel, parsed.to) == ("email", "+tag@example.com")


@pytest.mark.parametrize("key", ["a", "!" * 255, "order-42-attempt-1", "~{}"])
def test_good_idempotency_keys(key: str) -> None:
    assert check_idempotency_key(key) == key


@pytest.mark.parametrize("key", ["", "x" * 256, "a b", "tab\t", "é", "line\n"])
def test_bad_idempotency_keys(key: str) -> None:
    with pytest.raises(InvalidParameter):
        check_idempotency_key(key)


def test_codes_and_ids() -> None:
    codes = {generate_code(6) for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() and c.isascii() for c in codes)
    assert len(codes) > 150
    assert len(generate_code(10)) == 10
    assert is_verification_id(new_v2_verification_id())
    assert is_verification_id(new_v3_verification_id("b546b221bd449fe8"))
    assert not is_verification_id("VE" + "A" * 32)
    assert not is_verification_id("VE" + "a" * 32 + "\n")


SMS = {"to": "+14155550100", "channel": "sms"}


@pytest.mark.parametrize(
    "address", ["203.0.113.9", "2001:db8::1", "::ffff:203.0.113.9", "2001:DB8:0:0:0:0:0:1"]
)
def test_end_user_ip_accepts_addresses(address: str) -> None:
    assert parse_send_body({**SMS, "end_user_ip": address}).end_user_ip == address


@pytest.mark.parametrize(
    "address", ["203.0.113.9:443", "[2001:db8::1]", "fe80::1%eth0", "203.0.113", "example.com",
                " 203.0.113.9", "203.0.113.9\n", "", 3232235777, ["203.0.113.9"],
                "2001:db8::/64", "010.0.0.1"],
)
def test_end_user_ip_refuses_anything_else(address: Any) -> None:
    assert field_of(parse_send_body, {**SMS, "end_user_ip": address}) == "end_user_ip"


@pytest.mark.parametrize("reference", ["a", "order 42 / #7 ~ {x}", "x" * 64, " "])
def test_reference_accepts_printable_ascii(reference: str) -> None:
    assert parse_send_body({**SMS, "reference": reference}).reference == reference


@pytest.mark.parametrize("reference", ["", "x" * 65, "tab\there", "caf\u00e9", "line\n", 42])
def test_reference_refuses_anything_else(reference: Any) -> None:
    assert field_of(parse_send_body, {**SMS, "reference": reference}) == "reference"


def test_absent_or_null_end_user_ip_and_reference_are_none() -> None:
    for body in (SMS, {**SMS, "end_user_ip": None, "reference": None}):
        parsed = parse_send_body(body)
        assert (parsed.end_user_ip, parsed.reference) == (None, None)
