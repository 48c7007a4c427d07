"""The route table as ALB listener rules (troposphere), for infra stacks or a standalone stack."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from troposphere import Parameter, Ref, Template
from troposphere import elasticloadbalancingv2 as elb

from routing.model import (
    Action,
    Condition,
    FixedResponse,
    Forward,
    Redirect,
    RouteTable,
    cloudformation_id,
)

DEFAULT_ACTIONS_METADATA = "StranglerKit::DefaultActions"


def render_condition(cond: Condition) -> elb.Condition:
    if cond.field == "path-pattern":
        return elb.Condition(Field=cond.field, PathPatternConfig=elb.PathPatternConfig(
            Values=list(cond.values)))
    if cond.field == "host-header":
        return elb.Condition(Field=cond.field, HostHeaderConfig=elb.HostHeaderConfig(
            Values=list(cond.values)))
    if cond.field == "http-header":
        return elb.Condition(Field=cond.field, HttpHeaderConfig=elb.HttpHeaderConfig(
            HttpHeaderName=cond.header_name, Values=list(cond.values)))
    if cond.field == "http-request-method":
        return elb.Condition(Field=cond.field, HttpRequestMethodConfig=elb.HttpRequestMethodConfig(
            Values=list(cond.values)))
    if cond.field == "query-string":
        pairs = [elb.QueryStringKeyValue(Value=p.value, **({"Key": p.key} if p.key else {}))
                 for p in cond.pairs]
        return elb.Condition(Field=cond.field, QueryStringConfig=elb.QueryStringConfig(
            Values=pairs))
    return elb.Condition(Field=cond.field, SourceIpConfig=elb.SourceIpConfig(
        Values=list(cond.values)))


def _action_properties(action: Action, arns: Mapping[str, object]) -> dict[str, Any]:
    if isinstance(action, Forward):
        missing = [n for n, _ in action.weights if n not in arns]
        if missing:
            raise KeyError(f"no target group ARN given for {', '.join(missing)}")
        config: dict[str, Any] = {"TargetGroups": [
            elb.TargetGroupTuple(TargetGroupArn=arns[n], Weight=w) for n, w in action.weights]}
        if action.stickiness_seconds is not None:
            config["TargetGroupStickinessConfig"] = elb.TargetGroupStickinessConfig(
                Enabled=True, DurationSeconds=action.stickiness_seconds)
        return {"Type": "forward", "ForwardConfig": elb.ForwardConfig(**config)}
    if isinstance(action, FixedResponse):
        return {"Type": "fixed-response", "FixedResponseConfig": elb.FixedResponseConfig(
            StatusCode=str(action.status_code), ContentType=action.content_type,
            **({"MessageBody": action.body} if action.body else {}))}
    assert isinstance(action, Redirect)
    return {"Type": "redirect", "RedirectConfig": elb.RedirectConfig(
        StatusCode=f"HTTP_{action.status_code}", Protocol=action.protocol, Host=action.host,
        Port=action.port, Path=action.path, Query=action.query)}


def render_listener_rules(table: RouteTable, listener_arn: object,
                          target_group_arns: Mapping[str, object]) -> list[elb.ListenerRule]:
    """One ListenerRule per table rule; ARNs may be strings, Ref(...) or ImportValue(...)."""
    return [elb.ListenerRule(
        cloudformation_id(rule.name, "Rule"), ListenerArn=listener_arn, Priority=rule.priority,
        Conditions=[render_condition(c) for c in rule.conditions],
        Actions=[elb.ListenerRuleAction(**_action_properties(rule.action, target_group_arns))])
        for rule in table.by_priority]


def render_default_actions(table: RouteTable,
                           target_group_arns: Mapping[str, object]) -> list[elb.Action]:
    """For a Listener's DefaultActions (the listener, not a rule, owns the default)."""
    return [elb.Action(**_action_properties(table.default_action, target_group_arns))]


def referenced_groups(table: RouteTable) -> list[str]:
    actions = [r.action for r in table.rules] + [table.default_action]
    used = {n for a in actions if isinstance(a, Forward) for n, _ in a.weights}
    return [g.name for g in table.target_groups if g.name in used]


def render_template(table: RouteTable) -> Template:
    """A standalone stack: the listener and target group ARNs come in as Parameters. The default
    action is recorded in Metadata, since only the Listener resource can carry it."""
    template = Template(Description="Listener rules rendered from routing/routes.toml")
    listener = template.add_parameter(Parameter(
        "ListenerArn", Type="String", Description="ARN of the ALB listener the rules attach to"))
    arns: dict[str, object] = {}
    for name in referenced_groups(table):
        param = template.add_parameter(Parameter(
            cloudformation_id(name, "TargetGroupArn"), Type="String",
            Description=f"ARN of the {name} target group"))
        arns[name] = Ref(param)
    for rule in render_listener_rules(table, Ref(listener), arns):
        template.add_resource(rule)
    template.set_metadata({DEFAULT_ACTIONS_METADATA: [
        a.to_dict() for a in render_default_actions(table, arns)]})
    return template
