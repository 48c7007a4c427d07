"""ALB rule evaluation for one request: lowest priority first, all conditions must match."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from routing.conditions.base import RequestView
from routing.table.model import DEFAULT_RULE_NAME, Action, Forward, RouteTable


@dataclass(frozen=True)
class Match:
    rule: str  # rule name or DEFAULT_RULE_NAME
    action: Action


def match(table: RouteTable, request: RequestView) -> Match:
    for rule in table.by_priority:
        if all(c.matches(request) for c in rule.conditions):
            return Match(rule.name, rule.action)
    return Match(DEFAULT_RULE_NAME, table.default_action)


def choose_group(forward: Forward, rng: random.Random | None = None,
                 sticky: str | None = None, usable: Mapping[str, bool] | None = None) -> str:
    """Weighted choice; a sticky group is kept while it still has weight > 0 (and is usable)."""
    weights = forward.weight_map()
    if sticky is not None and weights.get(sticky, 0) > 0 and (usable or {}).get(sticky, True):
        return sticky
    names = [n for n, w in forward.weights if w > 0]
    if len(names) == 1:
        return names[0]  # nothing to draw (the common case: one group per rule)
    return (rng or random).choices(names, weights=[weights[n] for n in names])[0]
