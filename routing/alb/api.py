"""The route table's rules in the ALB API's own shapes (CreateRule `Conditions[]` / `Actions[]`).

Rendered once here; the CloudFormation renderer (render.py) and the live apply/verify (live.py)
both start from these dicts, as CloudFormation's ListenerRule takes the same shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from routing.table.model import Action, FixedResponse, Forward, RouteTable, Rule


def conditions(rule: Rule) -> list[dict[str, Any]]:
    return [condition.api() for condition in rule.conditions]


def action(act: Action, target_group_arns: Mapping[str, object]) -> dict[str, Any]:
    """ARNs may be strings or CloudFormation values (Ref, ImportValue), passed through as given."""
    if isinstance(act, Forward):
        missing = [n for n, _ in act.weights if n not in target_group_arns]
        if missing:
            raise KeyError(f"no target group ARN given for {', '.join(missing)}")
        config: dict[str, Any] = {"TargetGroups": [
            {"TargetGroupArn": target_group_arns[n], "Weight": w} for n, w in act.weights]}
        if act.stickiness_seconds is not None:
            config["TargetGroupStickinessConfig"] = {
                "Enabled": True, "DurationSeconds": act.stickiness_seconds}
        return {"Type": "forward", "ForwardConfig": config}
    if isinstance(act, FixedResponse):
        return {"Type": "fixed-response", "FixedResponseConfig": {
            "StatusCode": str(act.status_code), "ContentType": act.content_type,
            **({"MessageBody": act.body} if act.body else {})}}
    return {"Type": "redirect", "RedirectConfig": {
        "StatusCode": f"HTTP_{act.status_code}", "Protocol": act.protocol, "Host": act.host,
        "Port": act.port, "Path": act.path, "Query": act.query}}


def referenced_groups(table: RouteTable) -> list[str]:
    """The target groups some forward action uses, in table order."""
    actions = [r.action for r in table.rules] + [table.default_action]
    used = {n for a in actions if isinstance(a, Forward) for n, _ in a.weights}
    return [g.name for g in table.target_groups if g.name in used]
