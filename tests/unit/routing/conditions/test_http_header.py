"""`http-header`: a named header; name and values case-insensitive."""

from __future__ import annotations

from typing import Any

from routing.conditions.http_header import HttpHeader

from .helpers import assert_refused, hit, shadow_count


def test_header_name_and_value_are_case_insensitive() -> None:
    cond = (HttpHeader("x-backend", ("MONOLITH",)),)
    assert hit(cond, headers=(("X-Backend", "monolith"),))
    assert not hit(cond, headers=(("X-Backend", "services"),))
    assert not hit(cond)


def test_header_name_takes_no_wildcards(raw: dict[str, Any]) -> None:
    assert_refused(raw, {"field": "http-header", "name": "X-*", "values": ["a"]},
                   "conditions[0].name")


def test_coverage_needs_the_same_header_name() -> None:
    assert shadow_count(HttpHeader("X-Backend", ("*",)), HttpHeader("x-backend", ("a",))) == 1
    assert shadow_count(HttpHeader("X-Backend", ("*",)), HttpHeader("X-Other", ("a",))) == 0
