"""Human-readable and JSON-ready views of table parts (CLI `show`, gateway status)."""

from __future__ import annotations

from typing import Any

from routing.table.model import Action, FixedResponse, Forward, RouteTable
from routing.table.weights import percentages


def action_text(action: Action) -> str:
    if isinstance(action, Forward):
        shares = percentages(action.weight_map())
        text = ", ".join(f"{n} {w} ({shares[n]:.0f}%)" for n, w in action.weights)
        sticky = f" sticky {action.stickiness_seconds}s" if action.stickiness_seconds else ""
        return f"forward {text}{sticky}"
    if isinstance(action, FixedResponse):
        return f"fixed-response {action.status_code} {action.content_type}"
    return (f"redirect {action.status_code} to {action.protocol}://{action.host}:{action.port}"
            f"{action.path}?{action.query}")


def action_json(action: Action) -> dict[str, Any]:
    data: dict[str, Any] = {"type": action.type, "text": action_text(action)}
    if isinstance(action, Forward):
        data["weights"] = action.weight_map()
        data["percent"] = {n: round(p, 2) for n, p in percentages(action.weight_map()).items()}
    return data


def rules_json(table: RouteTable) -> list[dict[str, Any]]:
    rows = [{"name": r.name, "priority": r.priority,
             "conditions": [c.text() for c in r.conditions],
             "action": action_json(r.action)} for r in table.by_priority]
    rows.append({"name": "default", "priority": None, "conditions": [],
                 "action": action_json(table.default_action)})
    return rows
