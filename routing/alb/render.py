"""The route table as ALB listener rules (troposphere), for infra stacks or a standalone stack."""

from __future__ import annotations

from collections.abc import Mapping

from troposphere import Parameter, Ref, Template
from troposphere import elasticloadbalancingv2 as elb

from routing.alb import api
from routing.table.model import RouteTable, cloudformation_id

DEFAULT_ACTIONS_METADATA = "StranglerKit::DefaultActions"


def render_listener_rules(table: RouteTable, listener_arn: object,
                          target_group_arns: Mapping[str, object]) -> list[elb.ListenerRule]:
    """One ListenerRule per table rule; ARNs may be strings, Ref(...) or ImportValue(...)."""
    return [elb.ListenerRule.from_dict(cloudformation_id(rule.name, "Rule"), {
        "ListenerArn": listener_arn, "Priority": rule.priority,
        "Conditions": api.conditions(rule),
        "Actions": [api.action(rule.action, target_group_arns)]})
        for rule in table.by_priority]


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
