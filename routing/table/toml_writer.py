"""Write a route table as TOML in one fixed, readable layout (tomllib only reads).

Deterministic: the same table always gives the same text, so diffs show only real changes.
"""

from __future__ import annotations

import json
import re

from routing.conditions.base import Condition, TomlValue
from routing.table.model import Action, FixedResponse, Forward, Redirect, RouteTable, TargetGroup

HEADER = """\
# Route table: read by the gateway (python -m routing.gateway) and rendered to ALB listener rules
# (python -m routing render). Check edits with `python -m routing check`. Rules are evaluated by
# ascending priority; the first whose conditions all match wins, else default_action.
"""
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def string(value: str) -> str:
    # A JSON string is a valid TOML basic string once DEL is escaped too.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else string(name)


def _inline(items: list[tuple[str, str]]) -> str:
    return "{ " + ", ".join(f"{key(k)} = {v}" for k, v in items) + " }" if items else "{}"


def value(item: TomlValue | bool | float | object) -> str:
    """Strings, integers, floats, booleans, lists and inline tables (a condition's settings, or
    a plan's as written)."""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, str):
        return string(item)
    if isinstance(item, list):
        return "[" + ", ".join(value(v) for v in item) + "]"
    if isinstance(item, dict):
        return _inline([(k, value(v)) for k, v in item.items()])
    return repr(item) if isinstance(item, float) else str(item)


def condition(cond: Condition) -> str:
    return value({"field": cond.field, **cond.to_toml()})


def action(act: Action) -> str:
    items = [("type", string(act.type))]
    if isinstance(act, Forward):
        items.append(("weights", _inline([(n, str(w)) for n, w in act.weights])))
        if act.stickiness_seconds is not None:
            items.append(("stickiness_seconds", str(act.stickiness_seconds)))
    elif isinstance(act, FixedResponse):
        items += [("status_code", str(act.status_code)),
                  ("content_type", string(act.content_type)), ("body", string(act.body))]
    elif isinstance(act, Redirect):
        items += [("status_code", str(act.status_code))] + [
            (part, string(getattr(act, part)))
            for part in ("protocol", "host", "port", "path", "query")]
    return _inline(items)


def dumps(table: RouteTable) -> str:
    lines = [HEADER, f"default_action = {action(table.default_action)}", ""]
    for group in table.target_groups:
        urls = group.target_urls
        lines += [f"[target_groups.{key(group.name)}]",
                  f"url = {string(urls[0]) if len(urls) == 1 else value(list(urls))}",
                  f"health_check_path = {string(group.health_check_path)}"]
        if group.algorithm != TargetGroup.algorithm:
            lines.append(f"load_balancing_algorithm = {string(group.algorithm)}")
        lines.append("")
    for rule in table.by_priority:
        lines += ["[[rules]]", f"name = {string(rule.name)}", f"priority = {rule.priority}",
                  "conditions = ["]
        lines += [f"    {condition(c)}," for c in rule.conditions]
        lines += ["]", f"action = {action(rule.action)}", ""]
    for plan in table.plans:
        lines.append(f"[plans.{key(plan.rule)}]")
        lines += [f"{key(k)} = {value(v)}" for k, v in plan.raw.items()]
        lines.append("")
    return "\n".join(lines)

