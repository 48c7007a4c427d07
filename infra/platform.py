"""Platform stack: the ECS cluster and the ALB with the route table's listener rules."""

from __future__ import annotations

from troposphere import Template

from infra import routes
from infra.base import new_template
from infra.cluster import add_cluster
from infra.loadbalancer import SERVING_LISTENER, add_load_balancer, target_group_arns
from routing.table.model import RouteTable


def build(table: RouteTable) -> Template:
    template = new_template("platform (ECS cluster, ALB, target groups, route rules, alarms)")
    add_cluster(template)
    arns = target_group_arns()
    add_load_balancer(template, routes.default_actions(table, arns), table.target_groups)
    routes.add_listener_rules(template, table, SERVING_LISTENER, arns)
    return template
