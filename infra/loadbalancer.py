"""Load balancer part of the platform stack: the ALB, its listeners, one target group per web
component (health checks on /readyz) and a 5XX alarm per target group.

HTTP only without a certificate; with CertificateArn, HTTPS serves and HTTP redirects to it.
Listener rules (from the route table) attach to whichever listener serves: see infra.routes.
"""

from __future__ import annotations

from troposphere import GetAtt, If, Ref, Sub, Template, cloudwatch
from troposphere import elasticloadbalancingv2 as elb

from infra.base import add_output, add_parameter, name_tags
from infra.components import HEALTH_CHECK_PATH, WEB_COMPONENTS, Component
from routing.table.model import TargetGroup

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
SERVING_LISTENER = If("HasCertificate", Ref("HttpsListener"), Ref("HttpListener"))


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
                  Description="ACM certificate; empty serves plain HTTP")
    add_parameter(template, "Alarm5xxThreshold", Type="Number", Default=5, MinValue=1,
                  Description="target 5XX responses per minute that raise an alarm")
    template.add_condition("HasCertificate",
                           {"Fn::Not": [{"Fn::Equals": [Ref("CertificateArn"), ""]}]})


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
    return [
        elb.LoadBalancer(
            "LoadBalancer", Scheme="internet-facing", Type="application",
            Subnets=Ref("PublicSubnetIds"), SecurityGroups=[Ref("AlbSecurityGroupId")],
            LoadBalancerAttributes=[
                elb.LoadBalancerAttributes(Key="routing.http.drop_invalid_header_fields.enabled",
                                           Value="true"),
                elb.LoadBalancerAttributes(Key="idle_timeout.timeout_seconds", Value="60")],
            Tags=name_tags(Sub("${AWS::StackName}-alb"))),
        elb.Listener("HttpListener", LoadBalancerArn=Ref("LoadBalancer"), Port=80,
                     Protocol="HTTP",
                     DefaultActions=If("HasCertificate", [redirect],
                                       default_actions)),
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
