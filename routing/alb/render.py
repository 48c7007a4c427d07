"""The route table as ALB listener rules (troposphere), for infra stacks or a standalone stack."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from troposphere import Parameter, Ref, Template
from troposphere import elasticloadbalancingv2 as elb

from routing.alb import api, production
from routing.table.model import RouteTable, Rule, cloudformation_id

DEFAULT_ACTIONS_METADATA = "StranglerKit::DefaultActions"


def render_listener_rules(table: RouteTable, listener_arn: object,
                          target_group_arns: Mapping[str, object]) -> list[elb.ListenerRule]:
    """One ListenerRule per table rule, as the table says (the gateway's equal); ARNs may be
    strings, Ref(...) or ImportValue(...)."""
    return [_listener_rule(rule, rule.priority, api.conditions(rule), listener_arn,
                           target_group_arns) for rule in table.by_priority]


def render_production_rules(
        table: RouteTable, listener_arn: object, target_group_arns: Mapping[str, object],
        operator_cidrs: object) -> list[tuple[production.ListenerRule, elb.ListenerRule]]:
    """The production listener's rules (routing/alb/production.py), each with its layout entry
    (which says whether it is a pin rule); operator_cidrs: the pin rules' source-ip values."""
    return [(entry, _listener_rule(entry.rule, entry.priority, entry.conditions(operator_cidrs),
                                   listener_arn, target_group_arns))
            for entry in production.listener_rules(table)]


def _listener_rule(rule: Rule, priority: int, conditions: list[dict[str, Any]],
                   listener_arn: object,
                   target_group_arns: Mapping[str, object]) -> elb.ListenerRule:
    """A condition's Values may be a CloudFormation value (e.g. Fn::Split of a parameter), which
    troposphere's from_dict refuses in place of a list: such Values are set once it is built."""
    configs = [next(k for k in c if k.endswith("Config")) for c in conditions]
    late = {i: c[k]["Values"] for i, (c, k) in enumerate(zip(conditions, configs, strict=True))
            if not isinstance(c[k]["Values"], list)}
    built = elb.ListenerRule.from_dict(cloudformation_id(rule.name, "Rule"), {
        "ListenerArn": listener_arn, "Priority": priority,
        "Conditions": [{**c, k: {**c[k], "Values": []}} if i in late else c
                       for i, (c, k) in enumerate(zip(conditions, configs, strict=True))],
        "Actions": [api.action(rule.action, target_group_arns)]})
    for index, values in late.items():
        built.properties["Conditions"][index].properties[configs[index]].Values = values
    return built


def render_default_actions(table: RouteTable,
                           target_group_arns: Mapping[str, object]) -> list[elb.Action]:
    """For a Listener's DefaultActions (the listener, not a rule, owns the default)."""
    return [elb.Action.from_dict("", api.action(table.default_action, target_group_arns))]


def render_template(table: RouteTable) -> Template:
    """A standalone stack: the listener and target group ARNs come in as Parameters. The default
    action is recorded in Metadata, since only the Listener resource can carry it."""
    template = Template(Description="Listener rules rendered from routing/routes.toml")
    listener = template.add_parameter(Parameter(
        "ListenerArn", Type="String", Description="ARN of the ALB listener the rules attach to"))
    arns: dict[str, object] = {}
    for name in api.referenced_groups(table):
        param = template.add_parameter(Parameter(
            cloudformation_id(name, "TargetGroupArn"), Type="String",
            Description=f"ARN of the {name} target group"))
        arns[name] = Ref(param)
    for rule in render_listener_rules(table, Ref(listener), arns):
        template.add_resource(rule)
    template.set_metadata({DEFAULT_ACTIONS_METADATA: [
        a.to_dict() for a in render_default_actions(table, arns)]})
    return template
