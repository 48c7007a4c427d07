"""ALB's rules and quotas for a route table; anything an ALB would refuse raises TableError."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from routing.conditions.base import Condition
from routing.conditions.registry import FIELDS
from routing.table.model import (
    ALGORITHMS,
    DEFAULT_RULE_NAME,
    Forward,
    RouteTable,
    cloudformation_id,
)
from routing.table.problems import Problem, TableError
from routing.table.validate_actions import action_problems

MAX_RULES = 100
MAX_TARGET_GROUPS = 100
MAX_CONDITION_VALUES = 5
MAX_WILDCARDS = 5
MAX_PRIORITY = 50000
NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?")
RULE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def _condition_problems(rule: str, index: int, cond: Condition) -> list[Problem]:
    where = f"conditions[{index}]"
    found = [Problem(rule, f"{where}.values", "needs at least one value")] \
        if cond.value_count() == 0 else []
    return found + [Problem(rule, f"{where}.{at}", message) for at, message in cond.problems()]


def _conditions_problems(rule: str, conditions: tuple[Condition, ...]) -> list[Problem]:
    found = [p for i, c in enumerate(conditions) for p in _condition_problems(rule, i, c)]
    if not conditions:
        found.append(Problem(rule, "conditions", "a rule needs at least one condition"))
    for kind in FIELDS.values():
        if kind.single_use and sum(c.field == kind.field for c in conditions) > 1:
            found.append(Problem(rule, "conditions",
                                 f"at most one {kind.field} condition per rule"))
    values = sum(c.value_count() for c in conditions)
    if values > MAX_CONDITION_VALUES:
        found.append(Problem(rule, "conditions", f"{values} condition values; ALB allows "
                                                 f"{MAX_CONDITION_VALUES} per rule"))
    stars = sum(c.wildcard_count() for c in conditions)
    if stars > MAX_WILDCARDS:
        found.append(Problem(rule, "conditions", f"{stars} wildcards; ALB allows "
                                                 f"{MAX_WILDCARDS} per rule"))
    return found


def problems(table: RouteTable) -> list[Problem]:
    found: list[Problem] = []
    if len(table.rules) > MAX_RULES:
        found.append(Problem("table", "rules", f"{len(table.rules)} rules; ALB allows {MAX_RULES}"))
    if len(table.target_groups) > MAX_TARGET_GROUPS:
        found.append(Problem("table", "target_groups", f"more than {MAX_TARGET_GROUPS}"))
    names: set[str] = set()
    for group in table.target_groups:
        where = f"target_groups.{group.name}"
        if not NAME.fullmatch(group.name):
            found.append(Problem(where, "name", "1..32 letters, digits or inner hyphens"))
        for url in group.target_urls:
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
                found.append(Problem(where, "url", f"{url!r} is not an http(s) URL"))
        if len(set(group.target_urls)) < len(group.target_urls):
            found.append(Problem(where, "url", "a target is listed twice"))
        if group.algorithm not in ALGORITHMS:
            found.append(Problem(where, "load_balancing_algorithm",
                                 f"{group.algorithm!r} is not one of {', '.join(ALGORITHMS)}"))
        if not group.health_check_path.startswith("/"):
            found.append(Problem(where, "health_check_path", "must start with /"))
        names.add(group.name)
    seen_names: set[str] = set()
    seen_ids: dict[str, str] = {}
    seen_priorities: dict[int, str] = {}
    for rule in table.rules:
        if not RULE_NAME.fullmatch(rule.name) or rule.name == DEFAULT_RULE_NAME:
            found.append(Problem(rule.name, "name", "letters, digits, _ . - (not 'default')"))
        if rule.name in seen_names:
            found.append(Problem(rule.name, "name", "another rule has this name"))
        seen_names.add(rule.name)
        stack_id = cloudformation_id(rule.name)
        if seen_ids.setdefault(stack_id, rule.name) != rule.name:
            found.append(Problem(rule.name, "name", f"renders to the same CloudFormation ID as "
                                                    f"rule {seen_ids[stack_id]!r}"))
        if not 1 <= rule.priority <= MAX_PRIORITY:
            found.append(Problem(rule.name, "priority", f"{rule.priority} is outside 1..50000"))
        elif rule.priority in seen_priorities:
            found.append(Problem(rule.name, "priority", f"{rule.priority} is already used by "
                                                        f"rule {seen_priorities[rule.priority]!r}"))
        seen_priorities.setdefault(rule.priority, rule.name)
        found += _conditions_problems(rule.name, rule.conditions)
        found += action_problems(rule.name, rule.action, names)
    found += _plan_problems(table)
    return found + action_problems(DEFAULT_RULE_NAME, table.default_action, names)


def _plan_problems(table: RouteTable) -> list[Problem]:
    """A plan moves a forward rule's traffic to one of that rule's target groups."""
    found = []
    for plan in table.plans:
        action = table.action_of(plan.rule)
        if action is None:
            found.append(Problem(plan.rule, "plan", "names no rule of the table"))
        elif not isinstance(action, Forward):
            found.append(Problem(plan.rule, "plan", f"a {action.type} rule has no weights"))
        elif plan.to not in action.weight_map():
            found.append(Problem(plan.rule, "plan.to", f"{plan.to!r} is not one of the rule's "
                                 f"groups ({', '.join(action.weight_map())})"))
        elif len(action.weights) < 2:
            found.append(Problem(plan.rule, "plan", "the rule forwards to one group only"))
    return found


def validate(table: RouteTable) -> None:
    found = problems(table)
    if found:
        raise TableError(found)
