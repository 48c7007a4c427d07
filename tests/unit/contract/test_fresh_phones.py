"""The test tools' phone numbers are ones the API sends SMS to: valid US FIXED_LINE_OR_MOBILE,
in E.164 as the API returns them, distinct enough for a whole run, and spread over number
prefixes (docs/api.md "SMS-pumping guards") so that the suite never trips its own prefix guards."""

from __future__ import annotations

import phonenumbers
import pytest
from phonenumbers import PhoneNumber, PhoneNumberFormat, PhoneNumberType

from contract_tests.fresh import (
    LINES,
    NAMESPACES,
    US_AREA_CODES,
    PhoneSlice,
    fresh_phone,
    fresh_prefix_numbers,
)
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
            # What is_us_mobile asks, without the parse and the repeated matching (191 area codes
            # x 2,400 numbers): number_type is UNKNOWN for an invalid number.
            national = int(f"{area_code}{exchange}{line}")
            number = PhoneNumber(country_code=1, national_number=national)
            assert phonenumbers.number_type(number) == PhoneNumberType.FIXED_LINE_OR_MOBILE, (
                area_code, exchange, line)
            assert phonenumbers.region_code_for_number(number) == "US", (area_code, exchange)


def prefix(to: str) -> str:
    return to[:-4]


def test_fresh_phones_are_us_mobiles_and_distinct() -> None:
    phones = [fresh_phone() for _ in range(30_000)]
    assert all(map(is_us_mobile, phones))
    assert len(set(phones)) == len(phones)


def test_consecutive_fresh_phones_have_distinct_prefixes() -> None:
    """A run's phones share no prefix until its slice's prefixes are all used (thousands of
    calls, more than a run makes), so no prefix counts more than one destination's sends."""
    prefixes = PhoneSlice(0).phone_prefixes
    assert prefixes > 8000
    phones = [fresh_phone() for _ in range(prefixes)]
    assert len({prefix(to) for to in phones}) == prefixes
    # Then they come round again with other lines.
    again = [fresh_phone() for _ in range(prefixes)]
    assert {prefix(to) for to in again} == {prefix(to) for to in phones}
    assert not set(again) & set(phones)


def test_reserved_prefixes_are_distinct_and_their_numbers_are_us_mobiles() -> None:
    drawn = [fresh_prefix_numbers() for _ in range(PhoneSlice(0).reserved_prefixes)]
    prefixes = [reserved for reserved, _ in drawn]
    assert len(set(prefixes)) == len(prefixes)
    assert all(len(reserved) == len("+1415555") for reserved in prefixes)
    reserved, numbers = drawn[0]
    under = list(numbers)
    assert len(set(under)) == len(under) == LINES
    assert all(prefix(to) == reserved and is_us_mobile(to) for to in under)
    assert all(is_us_mobile(next(numbers)) for _, numbers in drawn[1:])


def test_each_namespace_has_its_own_phones_and_reserved_prefixes() -> None:
    """No two namespaces (targets running at once) share a prefix, and within one namespace
    fresh_phone never hands out a number of a reserved prefix."""
    every: set[str] = set()
    expected = 0
    for namespace in range(NAMESPACES):
        space = PhoneSlice(namespace)
        phones = {prefix(space.phone(serial)) for serial in range(space.phone_prefixes)}
        reserved = {space.reserved_prefix(serial) for serial in range(space.reserved_prefixes)}
        assert len(phones) == space.phone_prefixes, namespace
        assert len(reserved) == space.reserved_prefixes, namespace
        assert not phones & reserved, namespace
        # Every serial maps into the slice: the last line of the last prefix, and beyond it.
        for serial in (space.phone_prefixes * LINES - 1, space.phone_prefixes * LINES):
            assert prefix(space.phone(serial)) in phones, (namespace, serial)
        assert space.reserved_prefix(space.reserved_prefixes) in reserved, namespace
        every |= phones | reserved
        expected += len(phones) + len(reserved)
    assert len(every) == expected, "two namespaces share a prefix"
    # So every number is one the first test checked: an area code of the list, exchange 200-999.
    assert all(len(number_prefix) == 8 and number_prefix[2:5] in US_AREA_CODES
               and 200 <= int(number_prefix[5:]) <= 999 for number_prefix in every)


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
