"""A live ALB listener through boto3 (elbv2): compare it with the table, push forward weights.

Both sides are compared in the ALB API's shapes: the table's rules as alb/api.py renders them,
in the production listener's layout (alb/production.py), the listener's as DescribeRules reports
them, each reduced by the same normal forms.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from routing.alb import api, production
from routing.conditions.source_ip import SourceIp
from routing.table.model import Action, Forward, RouteTable

if TYPE_CHECKING:
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client

Normal = tuple[Any, ...]
TERMINAL_ACTIONS = ("forward", "fixed-response", "redirect")


def client(region: str | None) -> ElasticLoadBalancingv2Client:
    import boto3  # imported here: the other commands should not pay for it

    return boto3.client("elbv2", region_name=region)


def _normal_value(value: object) -> object:
    if isinstance(value, Mapping):  # a query-string pair: a missing or empty Key is one thing
        return tuple(sorted((k, v) for k, v in value.items() if v))
    return value


def normal_condition(raw: Mapping[str, Any]) -> Normal:
    """(field, its settings such as the header name (case-insensitive), sorted values)."""
    config: Mapping[str, Any] = next((v for k, v in raw.items() if k.endswith("Config")), {})
    values = config.get("Values") or raw.get("Values") or []
    settings = tuple(sorted((k, str(v).lower()) for k, v in config.items() if k != "Values"))
    return (raw["Field"], settings, tuple(sorted(_normal_value(v) for v in values)))


def normal_action(raw: Mapping[str, Any], names: Mapping[str, str]) -> Normal:
    """What the action does, with target group ARNs as names and ALB's defaults filled in."""
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
        terminal = [a for a in rule["Actions"] if a["Type"] in TERMINAL_ACTIONS]
        return normal_action(terminal[-1], self.names) if terminal else ("none",)

    def wanted(self, action: Action) -> Normal:
        """The table's action in the same normal form (a group the ALB lacks keeps its name)."""
        arns = {n: self.arns.get(n, n) for n, _ in action.weights} \
            if isinstance(action, Forward) else {}
        return normal_action(api.action(action, arns), self.names)


def conditions_match(entry: production.ListenerRule, got: Mapping[str, Any]) -> bool:
    """The live rule's conditions are the table rule's; a pin rule's source-ip condition (the
    operators' CIDRs, which only the stack knows) is left out of the comparison."""
    live_conditions = [c for c in got["Conditions"]
                       if not (entry.pin and c["Field"] == SourceIp.field)]
    return sorted(normal_condition(c) for c in live_conditions) == \
        sorted(normal_condition(c) for c in api.conditions(entry.rule))


def differences(table: RouteTable, live: Live) -> list[str]:
    """The listener against the table in production's layout (routing/alb/production.py): the
    internal-paths rule first, table rules one priority higher, pin rules absent or limited to
    some source addresses (the operators' CIDRs, which only the stack knows)."""
    found = []
    live_rules = live.by_priority()
    for entry in production.listener_rules(table):
        rule = entry.rule
        got = live_rules.pop(str(entry.priority), None)
        if got is None:
            if not entry.pin:  # a pin rule is left out when no operator CIDRs are given
                found.append(f"rule {rule.name!r}: no live rule at listener priority "
                             f"{entry.priority}")
            continue
        if entry.pin and not any(c["Field"] == SourceIp.field for c in got["Conditions"]):
            found.append(f"rule {rule.name!r} (priority {rule.priority}): a pin rule open "
                         "to every address (no source-ip condition)")
        if not conditions_match(entry, got):
            found.append(f"rule {rule.name!r} (priority {rule.priority}): conditions differ: "
                         f"live {got['Conditions']}")
        if live.action_of(got) != live.wanted(rule.action):
            found.append(f"rule {rule.name!r} (priority {rule.priority}): action differs: "
                         f"table {live.wanted(rule.action)}, live {live.action_of(got)}")
    default = live_rules.pop("default", None)
    if default is not None and live.action_of(default) != live.wanted(table.default_action):
        found.append(f"rule 'default': action differs: table "
                     f"{live.wanted(table.default_action)}, live {live.action_of(default)}")
    found += [f"live rule at priority {p} is not in the table" for p in sorted(live_rules)]
    return found


def apply_weights(table: RouteTable, live: Live) -> list[tuple[str, dict[str, int]]]:
    """Push each forward action that differs (rules by priority, then the default) onto the live
    rule at its listener priority, only when that rule's conditions are the table rule's (never
    onto some other rule); returns (rule name, weights) of each push. Conditions and other
    actions are CloudFormation's."""
    pushed = []
    live_rules = live.by_priority()
    for entry in [*production.listener_rules(table), None]:
        rule = None if entry is None else entry.rule
        action = table.default_action if rule is None else rule.action
        got = live_rules.get("default" if entry is None else str(entry.priority))
        if not isinstance(action, Forward) or got is None or live.action_of(got) == \
                live.wanted(action) or (entry is not None and not conditions_match(entry, got)):
            continue
        rendered = api.action(action, live.arns)
        if rule is None:
            live.elbv2.modify_listener(ListenerArn=live.listener_arn, DefaultActions=[rendered])  # type: ignore[list-item]
        else:
            live.elbv2.modify_rule(RuleArn=got["RuleArn"], Actions=[rendered])  # type: ignore[list-item]
        pushed.append(("default" if rule is None else rule.name, action.weight_map()))
    return pushed
