"""Read a route table from TOML into the typed model; shape errors become Problems."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from routing.conditions.base import Condition
from routing.conditions.registry import FIELDS
from routing.table.model import (
    DEFAULT_RULE_NAME,
    Action,
    FixedResponse,
    Forward,
    Redirect,
    RouteTable,
    Rule,
    TargetGroup,
)
from routing.table.plans import Plan, parse_plan
from routing.table.problems import Problem, TableError
from routing.table.validate import validate


class _Reader:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, rule: str, field: str, message: str) -> None:
        self.problems.append(Problem(rule, field, message))

    def string(self, raw: dict[str, Any], key: str, rule: str, where: str,
               default: str | None = None) -> str:
        value = raw.get(key, default)
        if not isinstance(value, str):
            self.fail(rule, f"{where}{key}", "must be a string")
            return ""
        return value

    def integer(self, raw: dict[str, Any], key: str, rule: str, where: str,
                default: int | None = None) -> int:
        value = raw.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            self.fail(rule, f"{where}{key}", "must be an integer")
            return 0
        return value

    def target_urls(self, raw: dict[str, Any], where: str) -> str:
        """`url = "http://..."` or `url = ["http://...", ...]` (`[]`: no registered target)."""
        value = raw.get("url")
        if isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(v, str) and v for v in value):
            return ", ".join(value)
        self.fail(where, "url", "must be a URL or a list of URLs ([] for no target)")
        return ""

    def condition(self, raw: object, rule: str, where: str) -> Condition | None:
        if not isinstance(raw, dict):
            self.fail(rule, where, "must be a table like { field = ..., values = [...] }")
            return None
        name = raw.get("field")
        kind = FIELDS.get(name) if isinstance(name, str) else None
        if kind is None:
            self.fail(rule, f"{where}.field", f"must be one of {', '.join(FIELDS)}")
            return None
        return kind.from_toml(raw, lambda at, message: self.fail(rule, f"{where}.{at}", message))

    def action(self, raw: object, rule: str, where: str) -> Action | None:
        if not isinstance(raw, dict):
            self.fail(rule, where, "must be a table with a type")
            return None
        kind = raw.get("type")
        prefix = f"{where}."
        if kind == "forward":
            weights = raw.get("weights")
            if not isinstance(weights, dict) or not weights:
                self.fail(rule, f"{prefix}weights", "must be a table of target group = weight")
                return None
            pairs = tuple((str(k), self.integer(weights, k, rule, f"{prefix}weights."))
                          for k in weights)
            sticky = raw.get("stickiness_seconds")
            if sticky is not None:
                sticky = self.integer(raw, "stickiness_seconds", rule, prefix)
            return Forward(weights=pairs, stickiness_seconds=sticky)
        if kind == "fixed-response":
            return FixedResponse(
                status_code=self.integer(raw, "status_code", rule, prefix),
                content_type=self.string(raw, "content_type", rule, prefix, "text/plain"),
                body=self.string(raw, "body", rule, prefix, ""))
        if kind == "redirect":
            part = {k: self.string(raw, k, rule, prefix, getattr(Redirect, k))
                    for k in ("protocol", "host", "port", "path", "query")}
            return Redirect(self.integer(raw, "status_code", rule, prefix, 301), part["protocol"],
                            part["host"], part["port"], part["path"], part["query"])
        self.fail(rule, f"{prefix}type", "must be forward, fixed-response or redirect")
        return None


def parse_table(raw: dict[str, Any]) -> RouteTable:
    """Build the model; raise TableError listing every shape problem (ALB checks: validate.py)."""
    reader = _Reader()
    groups = []
    raw_groups = raw.get("target_groups", {})
    if not isinstance(raw_groups, dict):
        reader.fail("table", "target_groups", "must be a table of [target_groups.NAME]")
        raw_groups = {}
    for name, spec in raw_groups.items():
        if not isinstance(spec, dict):
            reader.fail(f"target_groups.{name}", "url", "needs a url")
            continue
        where = f"target_groups.{name}"
        groups.append(TargetGroup(
            name, reader.target_urls(spec, where),
            reader.string(spec, "health_check_path", where, "", "/readyz"),
            reader.string(spec, "load_balancing_algorithm", where, "", "round_robin")))
    rules = []
    raw_rules = raw.get("rules", [])
    for index, spec in enumerate(raw_rules if isinstance(raw_rules, list) else []):
        name = spec.get("name") if isinstance(spec, dict) else None
        label = name if isinstance(name, str) and name else f"rules[{index}]"
        if not isinstance(spec, dict):
            reader.fail(label, "rule", "must be a [[rules]] table")
            continue
        reader.string(spec, "name", label, "")
        conditions = spec.get("conditions", [])
        if not isinstance(conditions, list):
            reader.fail(label, "conditions", "must be a list")
            conditions = []
        parsed = [reader.condition(c, label, f"conditions[{i}]") for i, c in enumerate(conditions)]
        action = reader.action(spec.get("action"), label, "action")
        priority = reader.integer(spec, "priority", label, "")
        if action is not None:
            rules.append(Rule(label, priority, tuple(c for c in parsed if c), action))
    default = reader.action(raw.get("default_action"), DEFAULT_RULE_NAME, "default_action")
    plans: list[Plan] = []
    raw_plans = raw.get("plans", {})
    if not isinstance(raw_plans, dict):
        reader.fail("table", "plans", "must be a table of [plans.RULE]")
        raw_plans = {}
    for rule_name, spec in raw_plans.items():
        def fail(at: str, message: str, rule: str = str(rule_name)) -> None:
            reader.fail(rule, at, message)

        plan = parse_plan(str(rule_name), spec, fail)
        if plan is not None:
            plans.append(plan)
    if reader.problems or default is None:
        raise TableError(reader.problems)
    return RouteTable(tuple(groups), tuple(rules), default, tuple(plans))


def load_table(path: Path) -> RouteTable:
    """Read and validate; raise TableError (shape or ALB rules) or OSError."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise TableError([Problem("table", str(path), f"not valid TOML: {error}")]) from error
    table = parse_table(raw)
    validate(table)
    return table
