"""The route table as typed, immutable values (no I/O here); conditions: routing/conditions/."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from routing.conditions.base import Condition
from routing.table.plans import Plan

DEFAULT_RULE_NAME = "default"
"""The name the CLI and the gateway's metrics use for the listener's default action."""


def cloudformation_id(name: str, suffix: str = "") -> str:
    """CloudFormation logical IDs are alphanumeric: pin-monolith -> PinMonolith."""
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", name)) + suffix


ALGORITHMS = ("round_robin", "least_outstanding_requests")
"""ALB's target group attribute load_balancing.algorithm.type; round_robin is its default."""


@dataclass(frozen=True)
class TargetGroup:
    name: str
    # The group's registered targets: one base URL, or several separated by commas, or none ("").
    # One text, so ROUTING_TARGET_<GROUP>_URL (same form) replaces it as it stands.
    url: str
    health_check_path: str = "/readyz"
    algorithm: str = "round_robin"  # one of ALGORITHMS

    @property
    def target_urls(self) -> tuple[str, ...]:
        return tuple(part.strip() for part in self.url.split(",") if part.strip())


@dataclass(frozen=True)
class Forward:
    weights: tuple[tuple[str, int], ...]  # (target group name, weight) in table order
    stickiness_seconds: int | None = None
    type: Literal["forward"] = "forward"

    def weight_map(self) -> dict[str, int]:
        return dict(self.weights)


@dataclass(frozen=True)
class FixedResponse:
    status_code: int
    content_type: str = "text/plain"
    body: str = ""
    type: Literal["fixed-response"] = "fixed-response"


@dataclass(frozen=True)
class Redirect:
    status_code: int = 301
    protocol: str = "#{protocol}"
    host: str = "#{host}"
    port: str = "#{port}"
    path: str = "/#{path}"
    query: str = "#{query}"
    type: Literal["redirect"] = "redirect"


Action = Forward | FixedResponse | Redirect


@dataclass(frozen=True)
class Rule:
    name: str
    priority: int
    conditions: tuple[Condition, ...]
    action: Action


@dataclass(frozen=True)
class RouteTable:
    target_groups: tuple[TargetGroup, ...]
    rules: tuple[Rule, ...]
    default_action: Action
    plans: tuple[Plan, ...] = ()  # [plans.RULE]: how a rule's traffic moves (plans.py)

    def group(self, name: str) -> TargetGroup | None:
        return next((g for g in self.target_groups if g.name == name), None)

    def rule(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)

    def plan(self, rule_name: str) -> Plan | None:
        return next((p for p in self.plans if p.rule == rule_name), None)

    @cached_property
    def by_priority(self) -> tuple[Rule, ...]:
        return tuple(sorted(self.rules, key=lambda r: r.priority))

    def action_of(self, rule_name: str) -> Action | None:
        if rule_name == DEFAULT_RULE_NAME:
            return self.default_action
        found = self.rule(rule_name)
        return found.action if found else None
