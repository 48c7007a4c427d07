"""The route table (routing/routes.toml) as the platform stack's listener rules.

This module is the one place infra calls into routing: routing.alb.render renders the rules and the
listener's default action; here each weighted forward rule's weights become stack parameters
(defaulting to the table's), so a deploy can shift traffic without editing the table.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from troposphere import Ref, Template
from troposphere import elasticloadbalancingv2 as elb

from infra.base import add_parameter
from routing.alb.render import render_default_actions, render_listener_rules
from routing.table.loader import load_table
from routing.table.model import RouteTable

ROUTE_TABLE = Path(__file__).resolve().parent.parent / "routing" / "routes.toml"
MAX_WEIGHT = 999  # ALB's ceiling for a target group's weight in a forward action


def table_path() -> Path:
    """The table `python -m infra build` renders without --routes: $ROUTING_TABLE (as for the
    routing CLI; tests point it at a fixture), else the repository's routing/routes.toml."""
    return Path(os.environ.get("ROUTING_TABLE") or ROUTE_TABLE)


def load(path: Path = ROUTE_TABLE) -> RouteTable:
    return load_table(path)


def default_actions(table: RouteTable, arns: Mapping[str, Ref]) -> list[elb.Action]:
    return render_default_actions(table, arns)


def weight_parameter_name(rule_title: str, group: str) -> str:
    """VerificationsRule + send -> VerificationsRuleWeightSend (logical ids are alphanumeric)."""
    camel = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", group))
    return f"{rule_title}Weight{camel}"


def _parametrise_weights(template: Template, rule: elb.ListenerRule,
                         names_by_arn: Mapping[int, str]) -> None:
    """Replace each weight of a multi-group forward with Ref(parameter defaulting to it)."""
    for action in rule.properties["Actions"]:
        forward = action.properties.get("ForwardConfig")
        groups = forward.properties["TargetGroups"] if forward is not None else []
        if len(groups) < 2:
            continue  # a single group takes all traffic whatever its weight: nothing to shift
        for group in groups:
            name = names_by_arn[id(group.properties["TargetGroupArn"])]
            parameter = add_parameter(
                template, weight_parameter_name(rule.title, name), Type="Number",
                Default=group.properties["Weight"], MinValue=0, MaxValue=MAX_WEIGHT,
                Description=f"weight of {name} in rule {rule.title} (route table's by default)")
            group.properties["Weight"] = Ref(parameter)


def add_listener_rules(template: Template, table: RouteTable, listener_arn: object,
                       arns: Mapping[str, Ref]) -> list[elb.ListenerRule]:
    names_by_arn = {id(arn): name for name, arn in arns.items()}
    rules = render_listener_rules(table, listener_arn, arns)
    for rule in rules:
        _parametrise_weights(template, rule, names_by_arn)
        template.add_resource(rule)
    return rules
