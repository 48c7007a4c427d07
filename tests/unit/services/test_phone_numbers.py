"""SMS numbers (docs/api.md "Phone numbers"): parsed, typed, placed and stored in E.164, against
the golden table of docs/storage-contract-vectors.json (the monolith checks the same table)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from kit.settings import SettingsError
from services.verification import validation
from services.verification.errors import VerificationError
from services.verification.settings import Settings
from services.verification.validation import (
    SendRequest,
    check_sms_destination,
    parse_check_body,
    parse_phone,
    parse_send_body,
)
from services.web.problems import problem_body

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[3] / "docs" / "storage-contract-vectors.json").read_text("utf-8")
)
SMS_SENDS: dict[str, Any] = VECTORS["sms_sends"]


def send_outcome(to: str, countries: tuple[str, ...]) -> str:
    try:
        request = parse_send_body({"to": to, "channel": "sms"})
    except VerificationError as error:
        assert error.field == "to"
        return error.code
    # The number kept from validation, and the stored form parsed anew, are judged the same.
    outcomes = {judged(request, countries),
                judged(dataclasses.replace(request, phone=None), countries)}
    assert len(outcomes) == 1, (to, outcomes)
    return outcomes.pop()


def judged(request: SendRequest, countries: tuple[str, ...]) -> str:
    try:
        check_sms_destination(request, countries)
    except VerificationError as error:
        assert error.field == "to"
        return error.code
    return "created"


def test_the_default_countries_are_the_table_s() -> None:
    assert ",".join(Settings().sms_countries) == SMS_SENDS["sms_countries"]


@pytest.mark.parametrize("case", SMS_SENDS["numbers"], ids=lambda case: case["to"])
def test_every_number_of_the_table(case: dict[str, str]) -> None:
    assert send_outcome(case["to"], Settings().sms_countries) == case["send"]
    if case["send"] == "invalid_parameter":
        return
    assert parse_send_body({"to": case["to"], "channel": "sms"}).to == case["normalized_to"]
    number = phonenumbers.parse(case["to"], None)  # the table's library facts still hold
    assert PhoneNumberType.to_string(phonenumbers.number_type(number)) == case["number_type"]
    assert phonenumbers.region_code_for_number(number) == case["region"]
    # A check by `to` judges neither type nor country: it looks the canonical form up.
    assert parse_check_body({"to": case["to"], "code": "123456"}).to == case["normalized_to"]


def test_every_country_or_only_the_listed_ones() -> None:
    assert send_outcome("+23276123456", ("*",)) == "created"
    assert send_outcome("+19005550123", ("*",)) == "unsupported_number_type"  # type comes first
    assert send_outcome("+33612345678", ("SL",)) == "geo_not_permitted"
    assert send_outcome("+23276123456", ("SL",)) == "created"


def test_email_is_neither_typed_nor_placed() -> None:
    check_sms_destination(parse_send_body({"to": "ada@example.com", "channel": "email"}), ())


def test_problem_words() -> None:
    assert problem_body("unsupported_number_type", "to") == {
        "type": "urn:problem:verify:unsupported_number_type", "title": "Unsupported number type",
        "status": 400, "detail": "SMS cannot be sent to this kind of number.",
        "code": "unsupported_number_type", "field": "to",
    }
    assert problem_body("geo_not_permitted", "to") == {
        "type": "urn:problem:verify:geo_not_permitted", "title": "Geo not permitted",
        "status": 403, "detail": "SMS to this country is not enabled.",
        "code": "geo_not_permitted", "field": "to",
    }


def test_countries_from_the_environment() -> None:
    assert Settings.from_env({"VERIFY_SMS_COUNTRIES": " FR, SL "}).sms_countries == ("FR", "SL")
    assert Settings.from_env({"VERIFY_SMS_COUNTRIES": "*"}).sms_countries == ("*",)
    blank = Settings.from_env({"VERIFY_SMS_COUNTRIES": " "})
    assert blank.sms_countries == Settings().sms_countries


@pytest.mark.parametrize("raw", ["us", "US,XX", "UK", "*,US", ",", "001"])
def test_invalid_region_codes_refuse_to_start(raw: str) -> None:
    with pytest.raises(SettingsError, match="VERIFY_SMS_COUNTRIES"):
        Settings.from_env({"VERIFY_SMS_COUNTRIES": raw})


def numbers_around_every_example() -> list[str]:
    """Every region's example number of every type, and near misses of each (a digit more, one
    less, others at the end): valid and invalid numbers of every country code."""
    found: set[str] = set()
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in range(12):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            found |= {e164, e164 + "7", e164[:-1], e164[:-2] + "00", e164[:-3] + "999"}
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        found |= {f"+{code}{digits}" for digits in ("1234567", "55501234", "9876543210")}
    return sorted(found)


def test_valid_is_phonenumbers_is_valid_number() -> None:
    """parse_phone works validity out from the region and type (validation.py says why)."""
    numbers = numbers_around_every_example()
    assert len(numbers) > 3000
    for to in numbers:
        phone = parse_phone(to)
        try:
            number = phonenumbers.parse(to, None)
        except phonenumbers.NumberParseException:
            assert phone is None, to
            continue
        expected = validation.E164.fullmatch(to) is not None and phonenumbers.is_valid_number(
            number)
        assert (phone is not None) == expected, to
        if phone is not None:
            assert phone.number_type == phonenumbers.number_type(number), to
            assert phone.region == phonenumbers.region_code_for_number(number), to
