"""The route table as the production listener holds it (infra's platform stack): closed by default.

Two things differ from the table as the local gateway serves it (the gateway keeps them open):

- an `internal-paths` rule at priority 1 answers 404 for INTERNAL_PATHS (metrics and API docs)
  before any table rule, so each table rule sits TABLE_PRIORITY_OFFSET higher on the listener;
- a pin rule (one matching on the PIN_HEADER header) also requires the caller's address to be
  one of the operators' CIDRs; without any, the stack leaves pin rules out. A pin rule that
  already has a source-ip condition in the table is kept as the table has it.

The CloudFormation renderer (render.py) and the live verify/apply (live.py) both read this layout.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from routing.alb import api
from routing.conditions.http_header import HttpHeader
from routing.conditions.path_pattern import PathPattern
from routing.conditions.source_ip import SourceIp
from routing.table.model import FixedResponse, RouteTable, Rule, cloudformation_id
from routing.table.problems import Problem, TableError
from routing.table.validate import MAX_CONDITION_VALUES, MAX_PRIORITY

PIN_HEADER = "X-Backend"
# What the apps serve for operators and tools only: Prometheus metrics and the FastAPI docs
# (/docs, /docs/oauth2-redirect, /redoc, /openapi.json). Globs, so "/metrics/" is closed too.
INTERNAL_PATHS = ("/metrics*", "/openapi.json", "/docs*", "/redoc*")
INTERNAL_PATHS_RULE = Rule(
    name="internal-paths", priority=1, conditions=(PathPattern(INTERNAL_PATHS),),
    action=FixedResponse(404, "application/json", json.dumps({
        "type": "urn:problem:gateway:not_found", "title": "Not Found", "status": 404,
        "code": "not_found"})))
TABLE_PRIORITY_OFFSET = INTERNAL_PATHS_RULE.priority


@dataclass(frozen=True)
class ListenerRule:
    rule: Rule
    priority: int  # on the listener
    pin: bool  # gets the operators' source-ip condition; absent without operator CIDRs

    def conditions(self, operator_cidrs: object) -> list[dict[str, Any]]:
        """The rule's API conditions; operator_cidrs: the source-ip values (a list or a
        CloudFormation value) a pin rule adds."""
        found = api.conditions(self.rule)
        return [*found, SourceIp.api_of(operator_cidrs)] if self.pin else found


def is_pin(rule: Rule) -> bool:
    """Matches on the pin header and is not already limited to some addresses."""
    return (any(isinstance(c, HttpHeader) and c.name.lower() == PIN_HEADER.lower()
                for c in rule.conditions)
            and not any(isinstance(c, SourceIp) for c in rule.conditions))


def listener_rules(table: RouteTable) -> list[ListenerRule]:
    """The listener's rules by priority: internal-paths first, then the table's."""
    highest = MAX_PRIORITY - TABLE_PRIORITY_OFFSET
    problems = [Problem(r.name, "priority", f"{r.priority} is above {highest}"
                        f" (the production listener keeps priority {INTERNAL_PATHS_RULE.priority}"
                        f" for {INTERNAL_PATHS_RULE.name!r})")
                for r in table.rules if r.priority + TABLE_PRIORITY_OFFSET > MAX_PRIORITY]
    reserved = cloudformation_id(INTERNAL_PATHS_RULE.name)
    problems += [Problem(r.name, "name", f"{INTERNAL_PATHS_RULE.name!r} is the production "
                         "listener's own rule") for r in table.rules
                 if cloudformation_id(r.name) == reserved]
    problems += [Problem(r.name, "conditions", f"a pin rule ({PIN_HEADER}) needs room for the "
                         f"operators' source-ip condition: at most {MAX_CONDITION_VALUES - 1} "
                         "condition values") for r in table.rules if is_pin(r)
                 and _room(r) < 1]
    if problems:
        raise TableError(problems)
    return [ListenerRule(INTERNAL_PATHS_RULE, INTERNAL_PATHS_RULE.priority, pin=False),
            *(ListenerRule(r, r.priority + TABLE_PRIORITY_OFFSET, pin=is_pin(r))
              for r in table.by_priority)]


def pin_rules(rules: Iterable[ListenerRule]) -> list[ListenerRule]:
    return [r for r in rules if r.pin]


def max_operator_cidrs(table: RouteTable) -> int:
    """How many CIDRs every pin rule can still take within ALB's condition values per rule."""
    return min((_room(r) for r in table.rules if is_pin(r)), default=MAX_CONDITION_VALUES)


def _room(rule: Rule) -> int:
    return MAX_CONDITION_VALUES - sum(c.value_count() for c in rule.conditions)
