"""Everything an ALB would refuse is refused, naming the rule and the field (a field's own value
checks: conditions/test_<field>.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from routing.table.loader import parse_table
from routing.table.problems import TableError
from routing.table.validate import validate

Raw = dict[str, Any]


def _rule(raw: Raw, **changes: Any) -> Raw:
    raw["rules"][0].update(changes)
    return raw


def _conds(*conditions: dict[str, Any]) -> list[dict[str, Any]]:
    return list(conditions)


def _path(*values: str) -> dict[str, Any]:
    return {"field": "path-pattern", "values": list(values)}


def _forward(**weights: int) -> dict[str, Any]:
    return {"type": "forward", "weights": weights}


CASES: list[tuple[str, Callable[[Raw], object], str, str]] = [
    ("duplicate priority", lambda r: r["rules"][1].update(priority=10), "teapot", "priority"),
    ("priority zero", lambda r: _rule(r, priority=0), "users", "priority"),
    ("priority too high", lambda r: _rule(r, priority=50001), "users", "priority"),
    ("priority not int", lambda r: _rule(r, priority="10"), "users", "priority"),
    ("duplicate name", lambda r: r["rules"][1].update(name="users", priority=30), "users", "name"),
    ("six condition values", lambda r: _rule(r, conditions=_conds(
        _path("/a", "/b", "/c"), {"field": "http-request-method", "values": ["GET", "PUT", "POST"]}
    )), "users", "conditions"),
    ("six wildcards", lambda r: _rule(r, conditions=_conds(_path("/a*b*c*", "/d*e*f*"))),
     "users", "conditions"),
    ("two path-patterns", lambda r: _rule(r, conditions=_conds(_path("/a"), _path("/b"))),
     "users", "conditions"),
    ("two host-headers", lambda r: _rule(r, conditions=_conds(
        {"field": "host-header", "values": ["a.example"]},
        {"field": "host-header", "values": ["b.example"]})), "users", "conditions"),
    ("two methods", lambda r: _rule(r, conditions=_conds(
        {"field": "http-request-method", "values": ["GET"]},
        {"field": "http-request-method", "values": ["PUT"]})), "users", "conditions"),
    ("two source-ips", lambda r: _rule(r, conditions=_conds(
        {"field": "source-ip", "values": ["10.0.0.0/8"]},
        {"field": "source-ip", "values": ["192.168.0.0/16"]})), "users", "conditions"),
    ("no conditions", lambda r: _rule(r, conditions=[]), "users", "conditions"),
    ("empty values", lambda r: _rule(r, conditions=_conds(_path())), "users",
     "conditions[0].values"),
    ("unknown field", lambda r: _rule(r, conditions=_conds({"field": "cookie", "values": ["x"]})),
     "users", "conditions[0].field"),
    ("unknown group", lambda r: _rule(r, action=_forward(old=1, ghost=1)), "users",
     "action.weights.ghost"),
    ("weight 1000", lambda r: _rule(r, action=_forward(old=1000)), "users", "action.weights.old"),
    ("negative weight", lambda r: _rule(r, action=_forward(old=-1, new=1)), "users",
     "action.weights.old"),
    ("all zero", lambda r: _rule(r, action=_forward(old=0, new=0)), "users", "action.weights"),
    ("six groups", lambda r: (r["target_groups"].update(
        {f"g{i}": {"url": f"http://127.0.0.1:{9100 + i}"} for i in range(4)}),
        _rule(r, action=_forward(old=1, new=1, g0=1, g1=1, g2=1, g3=1))), "users",
     "action.weights"),
    ("stickiness 0", lambda r: _rule(r, action={**_forward(old=1), "stickiness_seconds": 0}),
     "users", "action.stickiness_seconds"),
    ("stickiness 8 days", lambda r: _rule(r, action={**_forward(old=1),
                                                     "stickiness_seconds": 691200}),
     "users", "action.stickiness_seconds"),
    ("fixed 302", lambda r: r["rules"][1]["action"].update(status_code=302), "teapot",
     "action.status_code"),
    ("fixed content type", lambda r: r["rules"][1]["action"].update(content_type="image/png"),
     "teapot", "action.content_type"),
    ("fixed body 1025", lambda r: r["rules"][1]["action"].update(body="x" * 1025), "teapot",
     "action.body"),
    ("redirect changes nothing", lambda r: r["rules"][1].update(
        action={"type": "redirect", "status_code": 301}), "teapot", "action"),
    ("redirect 307", lambda r: r["rules"][1].update(
        action={"type": "redirect", "status_code": 307, "protocol": "HTTPS"}), "teapot",
     "action.status_code"),
    ("redirect protocol", lambda r: r["rules"][1].update(
        action={"type": "redirect", "protocol": "FTP"}), "teapot", "action.protocol"),
    ("unknown action", lambda r: _rule(r, action={"type": "authenticate-oidc"}), "users",
     "action.type"),
    ("default unknown group", lambda r: r.update(default_action=_forward(nope=1)), "default",
     "default_action.weights.nope"),
    ("bad target url", lambda r: r["target_groups"]["new"].update(url="127.0.0.1:9002"),
     "target_groups.new", "url"),
    ("bad second target url", lambda r: r["target_groups"]["new"].update(
        url=["http://127.0.0.1:9002", "127.0.0.1:9012"]), "target_groups.new", "url"),
    ("target listed twice", lambda r: r["target_groups"]["new"].update(
        url=["http://127.0.0.1:9002", "http://127.0.0.1:9002"]), "target_groups.new", "url"),
    ("target urls not strings", lambda r: r["target_groups"]["new"].update(url=[9002]),
     "target_groups.new", "url"),
    ("unknown algorithm", lambda r: r["target_groups"]["new"].update(
        load_balancing_algorithm="random"), "target_groups.new", "load_balancing_algorithm"),
    ("101 rules", lambda r: r.update(rules=[
        {"name": f"r{i}", "priority": i + 1, "conditions": [_path(f"/p{i}")],
         "action": _forward(old=1)} for i in range(101)]), "table", "rules"),
]


@pytest.mark.parametrize(("mutate", "rule", "field"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_refused_with_rule_and_field(raw: Raw, mutate: Callable[[Raw], object], rule: str,
                                     field: str) -> None:
    mutate(raw)
    with pytest.raises(TableError) as caught:
        validate(parse_table(raw))
    named = [(p.rule, p.field) for p in caught.value.problems]
    assert (rule, field) in named, caught.value.problems
    assert f"rule {rule!r}: {field}:" in str(caught.value)


def test_the_base_table_and_five_values_five_wildcards_are_accepted(raw: Raw) -> None:
    _rule(raw, conditions=_conds(_path("/a*", "/b*", "/c*"),
                                 {"field": "http-header", "name": "X-A", "values": ["x*", "y*"]}))
    validate(parse_table(raw))


def test_query_pairs_count_as_values(raw: Raw) -> None:
    _rule(raw, conditions=_conds(_path("/a"), {"field": "query-string", "values": [
        {"key": f"k{i}", "value": "v"} for i in range(5)]}))
    with pytest.raises(TableError, match="6 condition values"):
        validate(parse_table(raw))


def test_rule_names_that_collide_as_cloudformation_ids_are_refused(raw: Raw) -> None:
    raw["rules"][1]["name"] = "Users"
    with pytest.raises(TableError, match="same CloudFormation ID as rule 'users'"):
        validate(parse_table(raw))


def test_a_group_takes_several_targets_or_none_and_either_algorithm(raw: Raw) -> None:
    raw["target_groups"]["new"].update(url=["http://127.0.0.1:9002", "http://127.0.0.1:9012"],
                                       load_balancing_algorithm="least_outstanding_requests")
    raw["target_groups"]["old"].update(url=[])
    table = parse_table(raw)
    validate(table)
    groups = {g.name: g for g in table.target_groups}
    assert groups["new"].target_urls == ("http://127.0.0.1:9002", "http://127.0.0.1:9012")
    assert groups["new"].algorithm == "least_outstanding_requests"
    assert groups["old"].target_urls == () and groups["old"].algorithm == "round_robin"
