"""The route table (routing/routes.toml) as the platform stack's listener rules.

This module is the one place infra calls into routing: routing.alb.render renders the rules in the
production listener's layout (routing/alb/production.py: internal paths answer 404, pin rules need
the operators' CIDRs) and the listener's default action; here each weighted forward rule's weights
become stack parameters (defaulting to the table's), so a deploy can shift traffic without editing
the table, and each rule gets its stack condition: it exists only while a listener serves the API,
a pin rule only when OperatorCidrs is given too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from troposphere import And, Equals, Not, Ref, Split, Template
from troposphere import elasticloadbalancingv2 as elb

from infra.base import add_parameter
from infra.loadbalancer import SERVES_API
from routing.alb.production import PIN_HEADER, max_operator_cidrs
from routing.alb.render import render_default_actions, render_production_rules
from routing.table.loader import load_table
from routing.table.model import RouteTable

ROUTE_TABLE = Path(__file__).resolve().parent.parent / "routing" / "routes.toml"
MAX_WEIGHT = 999  # ALB's ceiling for a target group's weight in a forward action
SERVES_PINS = "ServesPins"  # condition: the API is served and operator CIDRs are given
IPV4_CIDR = r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}"
IPV6_CIDR = r"[0-9A-Fa-f:]{2,39}/[0-9]{1,3}"


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


def cidr_list_pattern(most: int) -> str:
    """Empty, or 1..most CIDR blocks separated by commas (no spaces)."""
    cidr = f"(?:{IPV4_CIDR}|{IPV6_CIDR})"
    return f"^$|^{cidr}(?:,{cidr}){{0,{most - 1}}}$"


def add_operator_cidrs(template: Template, table: RouteTable) -> Split:
    """The OperatorCidrs parameter (as many CIDRs as every pin rule has room for) and the
    conditions on it; returns the pin rules' source-ip values."""
    most = max_operator_cidrs(table)
    add_parameter(template, "OperatorCidrs", Type="String", Default="",
                  AllowedPattern=cidr_list_pattern(most),
                  ConstraintDescription=f"empty, or up to {most} CIDR blocks separated by commas",
                  Description=f"operators' addresses, e.g. 203.0.113.0/24: the only ones whose "
                  f"{PIN_HEADER} header pins a request to a side; empty: no pin rules")
    template.add_condition("HasOperatorCidrs", Not(Equals(Ref("OperatorCidrs"), "")))
    template.add_condition(SERVES_PINS, And({"Condition": SERVES_API},
                                            {"Condition": "HasOperatorCidrs"}))
    return Split(",", Ref("OperatorCidrs"))


def add_listener_rules(template: Template, table: RouteTable, listener_arn: object,
                       arns: Mapping[str, Ref]) -> list[elb.ListenerRule]:
    names_by_arn = {id(arn): name for name, arn in arns.items()}
    operator_cidrs = add_operator_cidrs(template, table)
    rendered = render_production_rules(table, listener_arn, arns, operator_cidrs)
    for entry, rule in rendered:
        rule.Condition = SERVES_PINS if entry.pin else SERVES_API
        _parametrise_weights(template, rule, names_by_arn)
        template.add_resource(rule)
    return [rule for _, rule in rendered]
