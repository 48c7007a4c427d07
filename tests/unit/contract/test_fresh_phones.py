"""The test tools' phone numbers are ones the API sends SMS to: valid US FIXED_LINE_OR_MOBILE,
in E.164 as the API returns them, and distinct enough for a whole run."""

from __future__ import annotations

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from contract_tests.fresh import US_AREA_CODES, fresh_phone
from contract_tests.test_phone_numbers import fresh_french_mobile
from tests.faults.api import new_phone


def is_us_mobile(to: str) -> bool:
    number = phonenumbers.parse(to, None)
    return (phonenumbers.is_valid_number(number)
            and phonenumbers.number_type(number) == PhoneNumberType.FIXED_LINE_OR_MOBILE
            and phonenumbers.region_code_for_number(number) == "US"
            and phonenumbers.format_number(number, PhoneNumberFormat.E164) == to)


@pytest.mark.parametrize("area_code", US_AREA_CODES)
def test_every_exchange_of_the_area_codes_is_a_us_mobile(area_code: str) -> None:
    for exchange in range(200, 1000):
        for line in ("0000", "5309", "9999"):
            assert is_us_mobile(f"+1{area_code}{exchange}{line}"), (area_code, exchange, line)


def test_fresh_phones_are_us_mobiles_and_distinct() -> None:
    phones = [fresh_phone() for _ in range(30_000)]  # crosses exchanges (10,000 per exchange)
    assert all(map(is_us_mobile, phones))
    assert len(set(phones)) == len(phones)


def test_fault_suite_phones_are_us_mobiles_and_never_repeat() -> None:
    phones = [new_phone() for _ in range(20_000)]  # crosses exchanges (10,000 per exchange)
    assert all(map(is_us_mobile, phones))
    assert len(set(phones)) == len(phones)


def test_fresh_french_mobiles_are_mobiles_of_france() -> None:
    for to in ["+33610000000", "+33619999999", *(fresh_french_mobile() for _ in range(2000))]:
        number = phonenumbers.parse(to, None)
        assert phonenumbers.number_type(number) == PhoneNumberType.MOBILE, to
        assert phonenumbers.region_code_for_number(number) == "FR", to
        assert phonenumbers.format_number(number, PhoneNumberFormat.E164) == to
