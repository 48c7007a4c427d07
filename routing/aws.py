"""`verify` and `apply` against a live ALB listener (boto3 elbv2)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from routing.model import Action, Condition, FixedResponse, Forward, RouteTable

if TYPE_CHECKING:
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client

Normal = tuple[Any, ...]


def client(region: str | None) -> ElasticLoadBalancingv2Client:
    import boto3  # imported here: the other commands should not pay for it

    return boto3.client("elbv2", region_name=region)


def _condition(cond: Condition) -> Normal:
    if cond.field == "query-string":
        return (cond.field, None, tuple(sorted((p.key or "", p.value) for p in cond.pairs)))
    name = (cond.header_name or "").lower() or None
    return (cond.field, name, tuple(sorted(cond.values)))


def _live_condition(raw: dict[str, Any]) -> Normal:
    field = raw["Field"]
    configs = {"path-pattern": "PathPatternConfig", "host-header": "HostHeaderConfig",
               "http-header": "HttpHeaderConfig", "http-request-method":
               "HttpRequestMethodConfig", "source-ip": "SourceIpConfig",
               "query-string": "QueryStringConfig"}
    config = raw.get(configs.get(field, ""), {})
    if field == "query-string":
        pairs = tuple(sorted((p.get("Key") or "", p["Value"]) for p in config.get("Values", [])))
        return (field, None, pairs)
    values = config.get("Values") or raw.get("Values") or []
    name = config.get("HttpHeaderName", "").lower() or None
    return (field, name, tuple(sorted(values)))


def _action(action: Action) -> Normal:
    if isinstance(action, Forward):
        return ("forward", tuple(sorted(action.weights)), action.stickiness_seconds)
    if isinstance(action, FixedResponse):
        return ("fixed-response", str(action.status_code), action.content_type, action.body)
    return ("redirect", f"HTTP_{action.status_code}", action.protocol, action.host, action.port,
            action.path, action.query)


def _live_action(raw: dict[str, Any], names: dict[str, str]) -> Normal:
    kind = raw["Type"]
    if kind == "forward":
        config = raw.get("ForwardConfig") or {}
        groups = config.get("TargetGroups") or [{"TargetGroupArn": raw["TargetGroupArn"],
                                                 "Weight": 1}]
        sticky = config.get("TargetGroupStickinessConfig") or {}
        weights = tuple(sorted((names.get(g["TargetGroupArn"], g["TargetGroupArn"]),
                                int(g.get("Weight", 1))) for g in groups))
        return ("forward", weights, sticky.get("DurationSeconds") if sticky.get("Enabled")
                else None)
    if kind == "fixed-response":
        c = raw["FixedResponseConfig"]
        return (kind, c["StatusCode"], c.get("ContentType"), c.get("MessageBody", ""))
    c = raw.get("RedirectConfig", {})
    return (kind, c.get("StatusCode"), c.get("Protocol"), c.get("Host"), c.get("Port"),
            c.get("Path"), c.get("Query"))


class Live:
    """A listener's rules as the ALB reports them, with target group ARNs mapped to names."""

    def __init__(self, elbv2: ElasticLoadBalancingv2Client, listener_arn: str,
                 prefix: str) -> None:
        self.elbv2, self.listener_arn, self.prefix = elbv2, listener_arn, prefix
        self.rules: list[dict[str, Any]] = []
        marker: dict[str, str] = {}
        while True:
            page = elbv2.describe_rules(ListenerArn=listener_arn, **marker)  # type: ignore[arg-type]
            self.rules += [dict(r) for r in page["Rules"]]
            if not page.get("NextMarker"):
                break
            marker = {"Marker": page["NextMarker"]}
        groups = elbv2.describe_target_groups()["TargetGroups"]
        self.names = {g["TargetGroupArn"]: g["TargetGroupName"].removeprefix(prefix)
                      for g in groups}
        self.arns = {name: arn for arn, name in self.names.items()}

    def by_priority(self) -> dict[str, dict[str, Any]]:
        return {str(r["Priority"]): r for r in self.rules}

    def action_of(self, rule: dict[str, Any]) -> Normal:
        terminal = [a for a in rule["Actions"] if a["Type"] in
                    ("forward", "fixed-response", "redirect")]
        return _live_action(terminal[-1], self.names) if terminal else ("none",)


def differences(table: RouteTable, live: Live) -> list[str]:
    found = []
    live_rules = live.by_priority()
    for rule in table.by_priority:
        got = live_rules.pop(str(rule.priority), None)
        if got is None:
            found.append(f"rule {rule.name!r}: no live rule at priority {rule.priority}")
            continue
        want_conditions = sorted(_condition(c) for c in rule.conditions)
        if sorted(_live_condition(c) for c in got["Conditions"]) != want_conditions:
            found.append(f"rule {rule.name!r} (priority {rule.priority}): conditions differ: "
                         f"live {got['Conditions']}")
        if live.action_of(got) != _action(rule.action):
            found.append(f"rule {rule.name!r} (priority {rule.priority}): action differs: "
                         f"table {_action(rule.action)}, live {live.action_of(got)}")
    default = live_rules.pop("default", None)
    if default is not None and live.action_of(default) != _action(table.default_action):
        found.append(f"rule 'default': action differs: table {_action(table.default_action)}, "
                     f"live {live.action_of(default)}")
    found += [f"live rule at priority {p} is not in the table" for p in sorted(live_rules)]
    return found


def forward_action(action: Forward, arns: dict[str, str]) -> dict[str, Any]:
    config: dict[str, Any] = {"TargetGroups": [{"TargetGroupArn": arns[n], "Weight": w}
                                               for n, w in action.weights]}
    if action.stickiness_seconds:
        config["TargetGroupStickinessConfig"] = {
            "Enabled": True, "DurationSeconds": action.stickiness_seconds}
    return {"Type": "forward", "ForwardConfig": config}


def cmd_verify(args: argparse.Namespace, table: RouteTable) -> int:
    live = Live(client(args.region), args.listener_arn, args.tg_name_prefix)
    found = differences(table, live)
    for line in found:
        print(f"drift: {line}")
    print(f"{len(found)} difference(s) between {args.table} and {args.listener_arn}",
          file=sys.stderr if found else sys.stdout)
    return 1 if found else 0


def cmd_apply(args: argparse.Namespace, table: RouteTable) -> int:
    elbv2 = client(args.region)
    live = Live(elbv2, args.listener_arn, args.tg_name_prefix)
    live_rules = live.by_priority()
    for rule in [*table.by_priority, None]:
        action = table.default_action if rule is None else rule.action
        got = live_rules.get("default" if rule is None else str(rule.priority))
        if not isinstance(action, Forward) or got is None:
            continue
        if live.action_of(got) == _action(action):
            continue
        pushed = forward_action(action, live.arns)
        if rule is None:
            elbv2.modify_listener(ListenerArn=args.listener_arn, DefaultActions=[pushed])  # type: ignore[list-item]
        else:
            elbv2.modify_rule(RuleArn=got["RuleArn"], Actions=[pushed])  # type: ignore[list-item]
        print(f"applied {'default' if rule is None else rule.name}: {dict(action.weights)}")
    return cmd_verify(args, table)
