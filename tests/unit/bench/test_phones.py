"""The bench's destinations are numbers the API sends SMS to: valid US FIXED_LINE_OR_MOBILE."""

from __future__ import annotations

import re
from pathlib import Path

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from bench import phones

SEND_LUA = Path(phones.__file__).parent / "lua" / "send.lua"


def is_us_mobile(to: str) -> bool:
    number = phonenumbers.parse(to, None)
    return (phonenumbers.is_valid_number(number)
            and phonenumbers.number_type(number) == PhoneNumberType.FIXED_LINE_OR_MOBILE
            and phonenumbers.region_code_for_number(number) == "US"
            and phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == to)


def lua_area_codes() -> list[str]:
    found = re.search(r"AREA_CODES = \{(.*?)\}", SEND_LUA.read_text())
    assert found is not None
    return re.findall(r'"(\d{3})"', found.group(1))


@pytest.mark.parametrize("area_code", [phones.LOADER_AREA_CODE, phones.CHECK_AREA_CODE,
                                       phones.PROBE_AREA_CODE, phones.MIXED_AREA_CODE,
                                       *lua_area_codes()])
def test_every_exchange_of_each_area_code_is_a_us_mobile(area_code: str) -> None:
    for exchange in range(200, 1000):
        for line in ("0000", "4821", "9999"):
            assert is_us_mobile(f"+1{area_code}{exchange}{line}"), (area_code, exchange, line)


def test_the_workloads_use_distinct_area_codes() -> None:
    codes = [phones.LOADER_AREA_CODE, phones.CHECK_AREA_CODE, phones.PROBE_AREA_CODE,
             phones.MIXED_AREA_CODE, *lua_area_codes()]
    assert len(codes) == len(set(codes)) == 12


def test_numbers_are_distinct_over_the_whole_range() -> None:
    assert phones.us_mobile("212", 0) == "+12122000000"
    assert phones.us_mobile("212", phones.NUMBERS_PER_AREA_CODE - 1) == "+12129999999"
    sample = [phones.us_mobile("212", i) for i in range(0, phones.NUMBERS_PER_AREA_CODE, 997)]
    assert len(set(sample)) == len(sample) and all(map(is_us_mobile, sample[:500]))
    with pytest.raises(ValueError):
        phones.us_mobile("212", phones.NUMBERS_PER_AREA_CODE)
