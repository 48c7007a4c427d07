"""Weight arithmetic for shift / promote / rollback (pure functions on the table)."""

from __future__ import annotations

import dataclasses

from routing.table.model import DEFAULT_RULE_NAME, Forward, RouteTable


def shifted(weights: dict[str, int], to: str, percent: int) -> dict[str, int]:
    """`to` gets `percent` of 100; the rest goes to the other groups in proportion to their
    current weights (evenly when they all have 0), rounded so the total is exactly 100."""
    if to not in weights:
        raise KeyError(f"target group {to!r} is not in this rule's forward action "
                       f"(it has {', '.join(weights)})")
    if not 0 <= percent <= 100:
        raise ValueError(f"percent must be 0..100, not {percent}")
    others = [n for n in weights if n != to]
    if not others and percent != 100:
        raise ValueError(f"{to!r} is the rule's only group; it can only have 100 percent")
    rest = 100 - percent
    base = {n: weights[n] for n in others}
    total = sum(base.values())
    if total == 0:
        base, total = dict.fromkeys(others, 1), len(others)
    exact = {n: rest * base[n] / total for n in others}
    result = {n: int(exact[n]) for n in others}
    # Largest remainder: hand out what rounding down left over, biggest fractions first.
    leftover = rest - sum(result.values())
    for name in sorted(others, key=lambda n: exact[n] - result[n], reverse=True)[:leftover]:
        result[name] += 1
    result[to] = percent
    return {n: result[n] for n in weights}


def with_weights(table: RouteTable, rule: str, weights: dict[str, int]) -> RouteTable:
    """A copy of the table where `rule`'s forward action carries `weights` (same groups)."""
    def replace(action: Forward) -> Forward:
        if set(weights) != set(action.weight_map()):
            raise KeyError(f"rule {rule!r} forwards to {', '.join(action.weight_map())}, "
                           f"not {', '.join(weights)}")
        return dataclasses.replace(action, weights=tuple((n, weights[n]) for n, _ in
                                                         action.weights))

    if rule == DEFAULT_RULE_NAME:
        if not isinstance(table.default_action, Forward):
            raise KeyError("the default action is not a forward action")
        return dataclasses.replace(table, default_action=replace(table.default_action))
    found = table.rule(rule)
    if found is None:
        raise KeyError(f"no rule named {rule!r}; `python -m routing show` lists them")
    if not isinstance(found.action, Forward):
        raise KeyError(f"rule {rule!r} is a {found.action.type} rule, not forward")
    rules = tuple(dataclasses.replace(r, action=replace(found.action)) if r.name == rule else r
                  for r in table.rules)
    return dataclasses.replace(table, rules=rules)


def percentages(weights: dict[str, int]) -> dict[str, float]:
    total = sum(weights.values())
    return {n: (100.0 * w / total if total else 0.0) for n, w in weights.items()}


def weights_of(table: RouteTable, rule: str) -> dict[str, int]:
    action = table.action_of(rule)
    if action is None:
        raise KeyError(f"no rule named {rule!r}; `python -m routing show` lists them")
    if not isinstance(action, Forward):
        raise KeyError(f"rule {rule!r} is a {action.type} rule; only forward rules have weights")
    return action.weight_map()
