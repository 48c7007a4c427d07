"""The production listener's layout (routing/alb/production.py): internal paths closed first,
pin rules only from the operators' addresses, everything else as the table (and the gateway) say.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from typing import Any

import pytest
from troposphere import Ref

from routing.alb.production import (
    INTERNAL_PATHS,
    INTERNAL_PATHS_RULE,
    is_pin,
    listener_rules,
    max_operator_cidrs,
)
from routing.alb.render import render_default_actions, render_production_rules
from routing.conditions.base import RequestView
from routing.conditions.http_header import HttpHeader
from routing.conditions.path_pattern import PathPattern
from routing.gateway.matcher import match
from routing.table.loader import load_table
from routing.table.model import FixedResponse, Forward, RouteTable, Rule, cloudformation_id
from routing.table.problems import TableError
from routing.table.validate import validate

from .cfn_evaluator import evaluate
from .test_alb_render import TABLES, _matcher_says, _requests

OPERATORS = ["10.1.1.0/24"]


def production_template(table: RouteTable, operators: list[str] | None) -> dict[str, Any]:
    """The rules a deploy creates, as JSON the second evaluator reads; operators None: no
    OperatorCidrs given, so no pin rules."""
    arns = {g.name: Ref(cloudformation_id(g.name, "TargetGroupArn")) for g in table.target_groups}
    rules = {rule.title: rule.to_dict() for entry, rule in
             render_production_rules(table, "listener", arns, operators or [])
             if operators is not None or not entry.pin}
    return {"Resources": rules, "Metadata": {"StranglerKit::DefaultActions": [
        a.to_dict() for a in render_default_actions(table, arns)]}}


def test_the_shipped_layout_closes_internal_paths_first_and_shifts_the_table_by_one() -> None:
    table = load_table(TABLES["shipped"])
    layout = listener_rules(table)
    assert [(e.rule.name, e.priority, e.pin) for e in layout] == [
        ("internal-paths", 1, False), ("pin-monolith", 2, True),
        ("pin-services-verifications", 3, True), ("pin-services-verification-checks", 4, True),
        ("verifications", 11, False), ("verification-checks", 21, False)]
    assert max_operator_cidrs(table) == 3  # pins with a path condition spend 2 of 5 values


def test_the_internal_paths_rule_is_one_alb_accepts() -> None:
    table = load_table(TABLES["shipped"])
    validate(dataclasses.replace(table, rules=(*table.rules, dataclasses.replace(
        INTERNAL_PATHS_RULE, priority=999))))  # raises TableError if ALB would refuse it
    assert INTERNAL_PATHS_RULE.conditions == (PathPattern(INTERNAL_PATHS),)


@pytest.mark.parametrize("name", sorted(TABLES))
@pytest.mark.parametrize("operators", [OPERATORS, None])
def test_the_listener_decides_as_the_gateway_except_internal_paths_and_foreign_pins(
        name: str, operators: list[str] | None) -> None:
    table = load_table(TABLES[name])
    unpinned = dataclasses.replace(table, rules=tuple(r for r in table.rules if not is_pin(r)))
    template = production_template(table, operators)
    requests = _requests() + [{"path": p, "method": "GET", "headers": h, "query": [], "ip": ip}
                              for p in ("/metrics", "/docs", "/openapi.json", "/redoc")
                              for h in ({}, {"x-backend": ["monolith"]})
                              for ip in ("10.1.1.1", "127.0.0.1")]
    decisions = set()
    for req in requests:
        operator = operators is not None and any(
            ipaddress.ip_address(req["ip"]) in ipaddress.ip_network(c) for c in operators)
        if any(PathPattern((p,)).matches(RequestView("GET", req["path"])) for p in INTERNAL_PATHS):
            expected: tuple[Any, ...] = ("fixed-response", 404)
        else:
            expected = _matcher_says(table if operator else unpinned, req)
        assert evaluate(template, req) == expected, req
        decisions.add(expected)
    assert ("fixed-response", 404) in decisions and len(decisions) >= 4


def test_a_pin_header_from_elsewhere_reaches_only_the_unpinned_route() -> None:
    table = load_table(TABLES["shipped"])
    template = production_template(table, OPERATORS)
    pinned = {"path": "/api/verifications", "method": "POST", "query": [],
              "headers": {"x-backend": ["services"]}}
    assert evaluate(template, {**pinned, "ip": "10.1.1.7"})[1] == (("send", 1),)
    stranger = evaluate(template, {**pinned, "ip": "198.51.100.9"})
    view = RequestView("POST", "/api/verifications", (("X-Backend", "services"),))
    action = match(table, view).action
    assert isinstance(action, Forward) and action.weights == (("send", 1),)  # the gateway pins
    assert stranger[1] == (("monolith", 100), ("send", 0))  # ALB: the table's weights


def _rule(name: str, priority: int, *conditions: Any) -> Rule:
    return Rule(name, priority, conditions, FixedResponse(204))


@pytest.mark.parametrize(("rule", "where"), [
    (_rule("late", 50000, PathPattern(("/late",))), "priority"),
    (_rule("internal_paths", 5, PathPattern(("/x",))), "name"),
    (_rule("crowded", 5, HttpHeader("x-backend", ("a", "b", "c")), PathPattern(("/a", "/b"))),
     "conditions"),
])
def test_tables_the_production_listener_cannot_hold_are_refused(rule: Rule, where: str) -> None:
    table = load_table(TABLES["shipped"])
    with pytest.raises(TableError) as refused:
        listener_rules(dataclasses.replace(table, rules=(*table.rules, rule)))
    [problem] = refused.value.problems
    assert (problem.rule, problem.field) == (rule.name, where)


def test_the_not_found_body_is_problem_json_with_a_stable_code() -> None:
    action = INTERNAL_PATHS_RULE.action
    assert isinstance(action, FixedResponse) and action.status_code == 404
    assert json.loads(action.body)["code"] == "not_found"
    assert len(action.body) <= 1024  # ALB's MessageBody limit


def test_the_gateway_itself_keeps_pins_and_internal_paths_open() -> None:
    table = load_table(TABLES["shipped"])
    for path in ("/metrics", "/docs"):
        assert match(table, RequestView("GET", path)).action == table.default_action
    pinned = match(table, RequestView("GET", "/x", (("X-Backend", "monolith"),), (), "8.8.8.8"))
    assert pinned.action == Forward((("monolith", 1),))
