"""The suite's problem table is the docs' Errors table word for word, and its policy reads every
setting of the docs' Settings table that it tests."""

from __future__ import annotations

import re

from contract_tests.policy import API_DOC, Policy, documented_defaults
from contract_tests.problems import PROBLEMS

_ROW = re.compile(r"^\| (?P<status>\d{3}) \| `(?P<code>[a-z_]+)` \| (?P<title>[^|]+) \| "
                  r"(?P<detail>[^|]+) \|$")


def documented_problems() -> dict[str, tuple[int, str, str]]:
    section = API_DOC.read_text(encoding="utf-8").split("\n## Errors\n", 1)[1].split("\n## ")[0]
    return {row["code"]: (int(row["status"]), row["title"], row["detail"])
            for line in section.splitlines() if (row := _ROW.match(line))}


def test_the_problem_table_is_the_documented_one() -> None:
    documented = documented_problems()
    assert len(documented) >= 21
    assert documented == PROBLEMS


def test_the_guard_settings_default_to_the_documented_values() -> None:
    policy = Policy.from_env({})
    defaults = documented_defaults()
    assert (policy.sms_prefix_limit, policy.sms_prefix_window_seconds,
            policy.prefix_guard_min_sms, policy.prefix_guard_min_approved_percent,
            policy.prefix_guard_window_seconds, policy.prefix_guard_block_seconds,
            policy.sms_global_limit, policy.sms_global_window_seconds) == tuple(
        int(defaults[name]) for name in (
            "VERIFY_SMS_PREFIX_LIMIT", "VERIFY_SMS_PREFIX_WINDOW_SECONDS",
            "VERIFY_PREFIX_GUARD_MIN_SMS", "VERIFY_PREFIX_GUARD_MIN_APPROVED_PERCENT",
            "VERIFY_PREFIX_GUARD_WINDOW_SECONDS", "VERIFY_PREFIX_GUARD_BLOCK_SECONDS",
            "VERIFY_SMS_GLOBAL_LIMIT", "VERIFY_SMS_GLOBAL_WINDOW_SECONDS"))
    assert (policy.sms_prefix_limit, policy.prefix_guard_block_seconds) == (50, 43200)
    assert Policy.from_env({"VERIFY_SMS_PREFIX_LIMIT": "12"}).sms_prefix_limit == 12


def test_the_conversion_guard_blocks_below_the_percentage_once_enough_were_sent() -> None:
    policy = Policy.from_env({"VERIFY_PREFIX_GUARD_MIN_SMS": "10",
                              "VERIFY_PREFIX_GUARD_MIN_APPROVED_PERCENT": "10"})
    assert not policy.conversion_guard_blocks(9, 0)  # too few to judge
    assert policy.conversion_guard_blocks(10, 0)
    assert not policy.conversion_guard_blocks(10, 1)  # exactly 10 % is enough
    assert policy.conversion_guard_blocks(11, 1)
    assert not policy.conversion_guard_blocks(11, 2)
