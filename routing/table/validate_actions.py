"""ALB's rules for a rule's action: forward weights and stickiness, fixed-response, redirect."""

from __future__ import annotations

from routing.conditions.base import MAX_VALUE_LENGTH
from routing.table.model import DEFAULT_RULE_NAME, Action, FixedResponse, Forward, Redirect
from routing.table.problems import Problem

MAX_GROUPS_PER_FORWARD = 5
MAX_STICKINESS_SECONDS = 604800
FIXED_CONTENT_TYPES = ("text/plain", "text/css", "text/html", "application/javascript",
                       "application/json")


def action_problems(rule: str, action: Action, groups: set[str]) -> list[Problem]:
    where = "default_action" if rule == DEFAULT_RULE_NAME else "action"
    found: list[Problem] = []
    if isinstance(action, Forward):
        if len(action.weights) > MAX_GROUPS_PER_FORWARD:
            found.append(Problem(rule, f"{where}.weights", f"{len(action.weights)} target groups;"
                                 f" ALB forwards to at most {MAX_GROUPS_PER_FORWARD}"))
        for name, weight in action.weights:
            if name not in groups:
                found.append(Problem(rule, f"{where}.weights.{name}",
                                     f"target group {name!r} is not defined in [target_groups]"))
            if not 0 <= weight <= 999:
                found.append(Problem(rule, f"{where}.weights.{name}",
                                     f"weight {weight} is outside 0..999"))
        if all(weight == 0 for _, weight in action.weights):
            found.append(Problem(rule, f"{where}.weights", "at least one weight must be above 0"))
        sticky = action.stickiness_seconds
        if sticky is not None and not 1 <= sticky <= MAX_STICKINESS_SECONDS:
            found.append(Problem(rule, f"{where}.stickiness_seconds",
                                 f"{sticky} is outside 1..{MAX_STICKINESS_SECONDS} seconds"))
    elif isinstance(action, FixedResponse):
        if not (200 <= action.status_code < 300 or 400 <= action.status_code < 600):
            found.append(Problem(rule, f"{where}.status_code", "must be 2XX, 4XX or 5XX"))
        if action.content_type not in FIXED_CONTENT_TYPES:
            found.append(Problem(rule, f"{where}.content_type",
                                 f"must be one of {', '.join(FIXED_CONTENT_TYPES)}"))
        if len(action.body) > 1024:
            found.append(Problem(rule, f"{where}.body", "ALB allows at most 1024 characters"))
    elif isinstance(action, Redirect):
        found += _redirect_problems(rule, where, action)
    return found


def _redirect_problems(rule: str, where: str, action: Redirect) -> list[Problem]:
    found: list[Problem] = []
    if action.status_code not in (301, 302):
        found.append(Problem(rule, f"{where}.status_code", "must be 301 or 302"))
    if action.protocol not in ("HTTP", "HTTPS", "#{protocol}"):
        found.append(Problem(rule, f"{where}.protocol", "must be HTTP, HTTPS or #{protocol}"))
    if action.port != "#{port}" and not (action.port.isdigit() and 1 <= int(action.port) < 65536):
        found.append(Problem(rule, f"{where}.port", "must be 1..65535 or #{port}"))
    if not action.path.startswith("/") or len(action.path) > MAX_VALUE_LENGTH:
        found.append(Problem(rule, f"{where}.path", "must start with / (at most 128 characters)"))
    if action.query.startswith("?") or len(action.query) > MAX_VALUE_LENGTH:
        found.append(Problem(rule, f"{where}.query", "no leading '?', at most 128 characters"))
    if not action.host or len(action.host) > MAX_VALUE_LENGTH:
        found.append(Problem(rule, f"{where}.host", "must be 1..128 characters"))
    if (action.protocol, action.host, action.port, action.path, action.query) == (
            "#{protocol}", "#{host}", "#{port}", "/#{path}", "#{query}"):
        found.append(Problem(rule, where, "a redirect must change at least one of protocol, "
                                          "host, port, path or query (it would loop)"))
    return found
