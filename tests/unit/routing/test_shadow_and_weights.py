"""Shadowed-rule warnings and the weight arithmetic of shift/promote."""

from __future__ import annotations

import pytest

from routing.conditions.http_header import HttpHeader
from routing.conditions.http_request_method import HttpRequestMethod
from routing.conditions.path_pattern import PathPattern
from routing.table.shadow import shadow_warnings
from routing.table.weights import shifted

from .conditions.helpers import rules


def path(*values: str) -> PathPattern:
    return PathPattern(values)


def test_a_wider_earlier_rule_shadows_a_later_one() -> None:
    table = rules(("wide", 1, (path("/api/*"),)),
                   ("narrow", 2, (path("/api/users*"), HttpRequestMethod(("GET",)))))
    (warning,) = shadow_warnings(table)
    assert "'narrow' (priority 2) can never match" in warning and "'wide'" in warning


def test_order_matters_and_disjoint_rules_are_quiet() -> None:
    assert shadow_warnings(rules(("narrow", 1, (path("/api/users*"),)),
                                  ("wide", 2, (path("/api/*"),)))) == []
    assert shadow_warnings(rules(("v", 1, (path("/api/verifications*"),)),
                                  ("c", 2, (path("/api/verification-checks*"),)))) == []


def test_an_extra_condition_on_the_earlier_rule_means_no_shadow() -> None:
    header = HttpHeader("X-Backend", ("services",))
    assert shadow_warnings(rules(("pinned", 1, (header, path("/api/*"))),
                                  ("plain", 2, (path("/api/*"),)))) == []
    assert len(shadow_warnings(rules(("plain", 1, (path("/api/*"),)),
                                      ("pinned", 2, (header, path("/api/*")))))) == 1


@pytest.mark.parametrize(("weights", "to", "percent", "expected"), [
    ({"old": 100, "new": 0}, "new", 25, {"old": 75, "new": 25}),
    ({"old": 100, "new": 0}, "new", 100, {"old": 0, "new": 100}),
    ({"a": 50, "b": 30, "c": 20}, "c", 40, {"a": 38, "b": 22, "c": 40}),
    ({"a": 0, "b": 0, "c": 1}, "c", 1, {"a": 50, "b": 49, "c": 1}),
])
def test_shift_gives_the_rest_proportionally(weights: dict[str, int], to: str, percent: int,
                                             expected: dict[str, int]) -> None:
    result = shifted(weights, to, percent)
    assert result == expected and sum(result.values()) == 100


def test_shift_refuses_unknown_groups_and_bad_percents() -> None:
    with pytest.raises(KeyError, match="not in this rule"):
        shifted({"a": 1, "b": 1}, "z", 10)
    with pytest.raises(ValueError, match=r"0\.\.100"):
        shifted({"a": 1, "b": 1}, "a", 101)
