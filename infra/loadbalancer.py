"""Load balancer part of the platform stack: the ALB, its listeners, one target group per web
component (health checks on /readyz), a 5XX alarm per target group, access logs to S3.

Closed by default: with CertificateArn, HTTPS serves and HTTP redirects to it; without one the
HTTP listener answers every request with a fixed 403, unless AllowPlainHttp=true (demos) lets it
serve. Listener rules (from the route table) attach to whichever listener serves, and exist only
when one does (condition SERVES_API): see infra.routes.
"""

from __future__ import annotations

import json

from troposphere import Equals, GetAtt, If, Not, Or, Ref, Sub, Template, cloudwatch
from troposphere import elasticloadbalancingv2 as elb

from infra.access_logs import ACCESS_LOG_ATTRIBUTES, add_access_logs
from infra.base import add_output, add_parameter, name_tags
from infra.components import HEALTH_CHECK_PATH, WEB_COMPONENTS, Component
from routing.table.model import TargetGroup

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
SERVING_LISTENER = If("HasCertificate", Ref("HttpsListener"), Ref("HttpListener"))
SERVES_API = "ServesApi"  # condition: a listener serves the API (HTTPS, or plain HTTP allowed)
PLAIN_HTTP_CLOSED = elb.Action(Type="fixed-response", FixedResponseConfig=elb.FixedResponseConfig(
    StatusCode="403", ContentType="application/json", MessageBody=json.dumps({
        "type": "urn:problem:gateway:https_required", "title": "Forbidden", "status": 403,
        "code": "https_required",
        "detail": "Plain HTTP is closed: deploy with CertificateArn (HTTPS), or "
                  "AllowPlainHttp=true for a demo."})))


def add_alb_parameters(template: Template) -> None:
    add_parameter(template, "VpcId", Type="AWS::EC2::VPC::Id", Description="network: VpcId")
    add_parameter(template, "PublicSubnetIds", Type="List<AWS::EC2::Subnet::Id>",
                  Description="network: PublicSubnetIds")
    add_parameter(template, "PrivateSubnetIds", Type="List<AWS::EC2::Subnet::Id>",
                  Description="network: PrivateSubnetIds (EC2 capacity)")
    add_parameter(template, "AlbSecurityGroupId", Type="AWS::EC2::SecurityGroup::Id",
                  Description="network: AlbSecurityGroupId")
    add_parameter(template, "TaskSecurityGroupId", Type="AWS::EC2::SecurityGroup::Id",
                  Description="network: TaskSecurityGroupId (EC2 capacity)")
    add_parameter(template, "CertificateArn", Type="String", Default="",
                  Description="ACM certificate: HTTPS serves, HTTP redirects to it; empty: "
                  "HTTP answers 403 unless AllowPlainHttp")
    add_parameter(template, "AllowPlainHttp", Type="String", Default="false",
                  AllowedValues=["false", "true"],
                  Description="without CertificateArn only: serve the API over plain HTTP "
                  "(codes cross the network in clear; for demos)")
    add_parameter(template, "Alarm5xxThreshold", Type="Number", Default=5, MinValue=1,
                  Description="target 5XX responses per minute that raise an alarm")
    template.add_condition("HasCertificate", Not(Equals(Ref("CertificateArn"), "")))
    template.add_condition("PlainHttpAllowed", Equals(Ref("AllowPlainHttp"), "true"))
    template.add_condition(SERVES_API, Or({"Condition": "HasCertificate"},
                                          {"Condition": "PlainHttpAllowed"}))


def target_group_title(component: Component) -> str:
    return f"{component.title}TargetGroup"


def target_group(component: Component, algorithm: str = TargetGroup.algorithm) -> elb.TargetGroup:
    """algorithm: the route table's load_balancing_algorithm for the group of that name."""
    return elb.TargetGroup(
        target_group_title(component), VpcId=Ref("VpcId"), TargetType="ip",
        Protocol="HTTP", Port=component.port,
        HealthCheckPath=HEALTH_CHECK_PATH, HealthCheckProtocol="HTTP",
        HealthCheckIntervalSeconds=10, HealthCheckTimeoutSeconds=5,
        HealthyThresholdCount=2, UnhealthyThresholdCount=3,
        Matcher=elb.Matcher(HttpCode="200"),
        TargetGroupAttributes=[
            elb.TargetGroupAttribute(Key="deregistration_delay.timeout_seconds", Value="30"),
            elb.TargetGroupAttribute(Key="load_balancing.algorithm.type", Value=algorithm)],
        Tags=name_tags(Sub("${AWS::StackName}-" + component.name)))


def target_group_arns() -> dict[str, Ref]:
    """Target group ARNs by component name, as the route table names its target groups."""
    return {c.name: Ref(target_group_title(c)) for c in WEB_COMPONENTS}


def load_balancer(default_actions: list[elb.Action]) -> list[object]:
    redirect = elb.Action(Type="redirect", RedirectConfig=elb.RedirectConfig(
        Protocol="HTTPS", Port="443", StatusCode="HTTP_301"))
    attributes = {"routing.http.drop_invalid_header_fields.enabled": "true",
                  "idle_timeout.timeout_seconds": "60", **ACCESS_LOG_ATTRIBUTES}
    return [
        elb.LoadBalancer(
            "LoadBalancer", Scheme="internet-facing", Type="application",
            Subnets=Ref("PublicSubnetIds"), SecurityGroups=[Ref("AlbSecurityGroupId")],
            # ALB checks that it may write to the bucket when logging is switched on.
            DependsOn="AccessLogsBucketPolicy",
            LoadBalancerAttributes=[elb.LoadBalancerAttributes(Key=k, Value=v)
                                    for k, v in attributes.items()],
            Tags=name_tags(Sub("${AWS::StackName}-alb"))),
        elb.Listener("HttpListener", LoadBalancerArn=Ref("LoadBalancer"), Port=80,
                     Protocol="HTTP",
                     DefaultActions=If("HasCertificate", [redirect],
                                       If("PlainHttpAllowed", default_actions,
                                          [PLAIN_HTTP_CLOSED]))),
        elb.Listener("HttpsListener", Condition="HasCertificate",
                     LoadBalancerArn=Ref("LoadBalancer"), Port=443, Protocol="HTTPS",
                     SslPolicy=TLS_POLICY,
                     Certificates=[elb.Certificate(CertificateArn=Ref("CertificateArn"))],
                     DefaultActions=default_actions),
    ]


def alarm_title(component: Component) -> str:
    return f"{component.title}Target5xxAlarm"


def alarm_name(component: Component) -> Sub:
    return Sub("${AWS::StackName}-" + component.name + "-target-5xx")


def target_5xx_alarm(component: Component) -> cloudwatch.Alarm:
    return cloudwatch.Alarm(
        alarm_title(component), AlarmName=alarm_name(component),
        AlarmDescription=f"{component.name} answers 5XX through the ALB (promote gate)",
        Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
        Dimensions=[
            cloudwatch.MetricDimension(Name="LoadBalancer",
                                       Value=GetAtt("LoadBalancer", "LoadBalancerFullName")),
            cloudwatch.MetricDimension(Name="TargetGroup", Value=GetAtt(
                target_group_title(component), "TargetGroupFullName"))],
        Statistic="Sum", Period=60, EvaluationPeriods=1,
        Threshold=Ref("Alarm5xxThreshold"), ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching")


def add_load_balancer(template: Template, default_actions: list[elb.Action],
                      table_groups: tuple[TargetGroup, ...]) -> None:
    """default_actions: what the serving listener does when no rule matches (the table's);
    table_groups: the route table's target groups (their load balancing algorithm)."""
    add_alb_parameters(template)
    add_access_logs(template)
    algorithm = {g.name: g.algorithm for g in table_groups}
    groups = (target_group(c, algorithm.get(c.name, TargetGroup.algorithm))
              for c in WEB_COMPONENTS)
    for resource in (*load_balancer(default_actions), *groups,
                     *(target_5xx_alarm(c) for c in WEB_COMPONENTS)):
        template.add_resource(resource)
    add_output(template, "AlbUrl", If("HasCertificate", Sub("https://${LoadBalancer.DNSName}"),
                                      Sub("http://${LoadBalancer.DNSName}")), "the public URL")
    add_output(template, "ListenerArn", SERVING_LISTENER, "the listener the route rules sit on")
    add_output(template, "LoadBalancerFullName", GetAtt("LoadBalancer", "LoadBalancerFullName"),
               "for CloudWatch dimensions and request-count scaling")
    for c in WEB_COMPONENTS:
        add_output(template, f"{c.title}TargetGroupArn", Ref(target_group_title(c)),
                   f"target group of {c.name}")
        add_output(template, f"{c.title}TargetGroupFullName",
                   GetAtt(target_group_title(c), "TargetGroupFullName"),
                   f"target group of {c.name}, as CloudWatch names it")
        add_output(template, f"{c.title}AlarmName", Ref(alarm_title(c)),
                   f"5XX alarm of {c.name}, read by the routing promote gate")
