"""What the per-field tests share: a one-rule table to match against, shadow and refusal checks."""

from __future__ import annotations

from typing import Any

import pytest

from routing.conditions.base import Condition, RequestView
from routing.gateway.matcher import match
from routing.table.loader import parse_table
from routing.table.model import FixedResponse, Forward, RouteTable, Rule, TargetGroup
from routing.table.problems import TableError
from routing.table.shadow import shadow_warnings
from routing.table.validate import validate


def hit(conditions: tuple[Condition, ...], **request: object) -> bool:
    """Does a request (GET / unless told) match a rule with these conditions?"""
    table = RouteTable(target_groups=(TargetGroup("a", "http://127.0.0.1:1"),),
                       rules=(Rule("r", 5, conditions, FixedResponse(200)),),
                       default_action=Forward((("a", 1),)))
    view = RequestView(**{"method": "GET", "path": "/", **request})  # type: ignore[arg-type]
    return match(table, view).rule == "r"


def rules(*rules: tuple[str, int, tuple[Condition, ...]]) -> RouteTable:
    return RouteTable((TargetGroup("a", "http://x:1"),),
                      tuple(Rule(n, p, c, FixedResponse(200)) for n, p, c in rules),
                      Forward((("a", 1),)))


def shadow_count(earlier: Condition, later: Condition) -> int:
    """Warnings for a table whose rule 1 has `earlier` and rule 2 has `later`."""
    return len(shadow_warnings(rules(("first", 1, (earlier,)), ("second", 2, (later,)))))


def assert_refused(raw: dict[str, Any], condition: dict[str, Any], field: str) -> None:
    """The base table's rule 'users' with this one condition is refused, naming `field`."""
    raw["rules"][0]["conditions"] = [condition]
    with pytest.raises(TableError) as caught:
        validate(parse_table(raw))
    named = [(p.rule, p.field) for p in caught.value.problems]
    assert ("users", field) in named, caught.value.problems
    assert f"rule 'users': {field}:" in str(caught.value)
