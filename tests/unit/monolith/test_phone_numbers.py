"""SMS numbers (docs/api.md "Phone numbers"): parsed, typed, placed and stored in E.164, against
the golden table of docs/storage-contract-vectors.json (the services check the same table)."""

from __future__ import annotations

from typing import Any

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from monolith.problems import Problem
from monolith.settings import DEFAULT_SMS_COUNTRIES, Settings, SettingsError
from monolith.validation import check_sms_destination, parse_check, parse_send


def send_outcome(to: str, countries: tuple[str, ...]) -> str:
    try:
        check_sms_destination(parse_send({"to": to, "channel": "sms"}), countries)
    except Problem as problem:
        assert problem.field == "to"
        return problem.code
    return "created"


def test_the_default_countries_are_the_table_s(vectors: dict[str, Any]) -> None:
    assert ",".join(Settings.from_env({}).sms_countries) == vectors["sms_sends"]["sms_countries"]


def test_every_number_of_the_table(vectors: dict[str, Any]) -> None:
    countries = Settings.from_env({}).sms_countries
    for case in vectors["sms_sends"]["numbers"]:
        assert send_outcome(case["to"], countries) == case["send"], case
        if case["send"] == "invalid_parameter":
            continue
        assert parse_send({"to": case["to"], "channel": "sms"}).to == case["normalized_to"]
        number = phonenumbers.parse(case["to"], None)  # the table's library facts still hold
        assert PhoneNumberType.to_string(phonenumbers.number_type(number)) == case["number_type"]
        assert phonenumbers.region_code_for_number(number) == case["region"]
        # A check by `to` judges neither type nor country: it looks the canonical form up.
        assert parse_check({"to": case["to"], "code": "123456"}).to == case["normalized_to"]


def test_every_country_or_only_the_listed_ones() -> None:
    assert send_outcome("+23276123456", ("*",)) == "created"
    assert send_outcome("+19005550123", ("*",)) == "unsupported_number_type"  # type comes first
    assert send_outcome("+33612345678", ("SL",)) == "geo_not_permitted"
    assert send_outcome("+23276123456", ("SL",)) == "created"


def test_email_is_neither_typed_nor_placed() -> None:
    check_sms_destination(parse_send({"to": "ada@example.com", "channel": "email"}), ())


def test_problem_words() -> None:
    assert Problem("unsupported_number_type", field="to").body() == {
        "type": "urn:problem:verify:unsupported_number_type", "title": "Unsupported number type",
        "status": 400, "detail": "SMS cannot be sent to this kind of number.",
        "code": "unsupported_number_type", "field": "to",
    }
    assert Problem("geo_not_permitted", field="to").body() == {
        "type": "urn:problem:verify:geo_not_permitted", "title": "Geo not permitted",
        "status": 403, "detail": "SMS to this country is not enabled.",
        "code": "geo_not_permitted", "field": "to",
    }


def test_countries_from_the_environment() -> None:
    assert Settings.from_env({"VERIFY_SMS_COUNTRIES": " FR, SL "}).sms_countries == ("FR", "SL")
    assert Settings.from_env({"VERIFY_SMS_COUNTRIES": "*"}).sms_countries == ("*",)
    assert Settings.from_env({"VERIFY_SMS_COUNTRIES": " "}).sms_countries == DEFAULT_SMS_COUNTRIES


@pytest.mark.parametrize("raw", ["us", "US,XX", "UK", "*,US", ",", "001"])
def test_invalid_region_codes_refuse_to_start(raw: str) -> None:
    with pytest.raises(SettingsError, match="VERIFY_SMS_COUNTRIES"):
        Settings.from_env({"VERIFY_SMS_COUNTRIES": raw})
