"""A production-layout ALB listener in moto (the fake for AWS, the one service these tests cannot
reach), CloudWatch metric data as ALB publishes it, and two honest stand-ins: another writer
racing the front door, and percentile statistics that moto's get_metric_data lacks."""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

import boto3
from botocore.exceptions import ClientError
from moto.cloudwatch.models import Statistics

from routing.alb.render import render_default_actions, render_production_rules
from routing.table.model import RouteTable

REGION = "us-east-1"
PREFIX = "kit-"  # live target group names are PREFIX + the table's names


@dataclass
class AlbListener:
    arn: str
    elbv2: Any
    group_arns: dict[str, str]  # the table's group name -> ARN

    def rule_at(self, priority: str) -> dict[str, Any]:
        return next(r for r in self.elbv2.describe_rules(ListenerArn=self.arn)["Rules"]
                    if r["Priority"] == priority)

    def weights_at(self, priority: str) -> dict[str, int]:
        """{table group name: weight} of the live rule's forward action."""
        names = {arn: name for name, arn in self.group_arns.items()}
        action = next(a for a in self.rule_at(priority)["Actions"] if a["Type"] == "forward")
        groups = action.get("ForwardConfig", {}).get("TargetGroups") or [
            {"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}]
        return {names[g["TargetGroupArn"]]: g["Weight"] for g in groups}

    def set_weights(self, priority: str, weights: Mapping[str, int]) -> None:
        """What another writer (the console, a second promote) does to a rule."""
        self.elbv2.modify_rule(RuleArn=self.rule_at(priority)["RuleArn"], Actions=[{
            "Type": "forward", "ForwardConfig": {"TargetGroups": [
                {"TargetGroupArn": self.group_arns[n], "Weight": w}
                for n, w in weights.items()]}}])


def create_listener(table: RouteTable) -> AlbListener:
    """Inside mock_aws: a load balancer whose listener carries the table as the infra stack
    builds it (routing/alb/production.py; no operator CIDRs, so no pin rules)."""
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24",
                                 AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
               for i, zone in enumerate("ab")]
    elbv2 = boto3.client("elbv2", region_name=REGION)
    lb = elbv2.create_load_balancer(Name="kit", Subnets=subnets)["LoadBalancers"][0]
    arns = {g.name: elbv2.create_target_group(Name=PREFIX + g.name, Protocol="HTTP", Port=80,
                                              VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]
            for g in table.target_groups}
    default = [a.to_dict() for a in render_default_actions(table, arns)]
    arn = elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                DefaultActions=default)["Listeners"][0]["ListenerArn"]
    for entry, rule in render_production_rules(table, arn, arns, []):
        if entry.pin:
            continue
        props = rule.to_dict()["Properties"]
        elbv2.create_rule(ListenerArn=arn, Priority=props["Priority"],
                          Conditions=props["Conditions"], Actions=props["Actions"])
    return AlbListener(arn, elbv2, arns)


class RacingElbv2:
    """The real (moto) elbv2 client, except that right after each ModifyRule another writer sets
    the same rule to `theirs`, as a console edit landing between the push and the read-back
    would."""

    def __init__(self, listener: AlbListener, theirs: Mapping[str, int]) -> None:
        self.listener, self.theirs = listener, theirs
        self.pushed: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.listener.elbv2, name)

    def modify_rule(self, **kwargs: Any) -> Any:
        answer = self.listener.elbv2.modify_rule(**kwargs)
        self.pushed.append(kwargs["RuleArn"])
        rule = next(r for r in self.listener.elbv2.describe_rules(
            ListenerArn=self.listener.arn)["Rules"] if r["RuleArn"] == kwargs["RuleArn"])
        self.listener.set_weights(rule["Priority"], self.theirs)
        return answer


class CountingCloudWatch:
    """The real (moto) cloudwatch client, counting GetMetricData calls."""

    def __init__(self, client: Any) -> None:
        self.client, self.calls = client, 0

    def get_metric_data(self, **kwargs: Any) -> Any:
        self.calls += 1
        return self.client.get_metric_data(**kwargs)


class DeniedCloudWatch:
    """CloudWatch as a role without cloudwatch:GetMetricData sees it (moto does not enforce IAM
    unless told to; this answers as AWS does)."""

    def get_metric_data(self, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "User: arn:aws:sts::"
                                     "123456789012:assumed-role/deployer is not authorized to "
                                     "perform: cloudwatch:GetMetricData"}}, "GetMetricData")


def put_alb_metrics(cloudwatch: Any, listener: AlbListener, group: str, at: float, *,
                    requests: int = 0, errors: int = 0,
                    latencies: Mapping[float, int] | None = None) -> None:
    """One group's counts at epoch second `at`, with ALB's namespace and dimensions."""
    lb = "/".join(listener.arn.split(":listener/")[1].split("/")[:3])
    dimensions = [{"Name": "LoadBalancer", "Value": lb},
                  {"Name": "TargetGroup", "Value": listener.group_arns[group].split(":")[-1]}]
    when = datetime.datetime.fromtimestamp(at, datetime.UTC)
    data: list[dict[str, Any]] = [
        {"MetricName": name, "Dimensions": dimensions, "Timestamp": when, "Value": value,
         "Unit": "Count"}
        for name, value in (("RequestCount", requests), ("HTTPCode_Target_5XX_Count", errors))
        if value]
    if latencies:
        data.append({"MetricName": "TargetResponseTime", "Dimensions": dimensions,
                     "Timestamp": when, "Unit": "Seconds", "Values": list(latencies),
                     "Counts": list(latencies.values())})
    cloudwatch.put_metric_data(Namespace="AWS/ApplicationELB", MetricData=data)


@contextmanager
def moto_percentiles() -> Iterator[None]:
    """moto 5.2 computes no percentile statistic in get_metric_data (None, which its own
    serializer then fails on). This adds one, nearest rank over the values put, as CloudWatch
    computes it over the raw values of a period."""
    plain = Statistics.get_statistics_for_type

    def with_percentiles(self: Any, stat: str) -> Any:
        if not stat.startswith("p"):
            return plain(self, stat)
        values = sorted(self.metric_single_values_list)
        rank = math.ceil(float(stat[1:]) * len(values) / 100)
        return values[max(rank, 1) - 1]

    with mock.patch.object(Statistics, "get_statistics_for_type", with_percentiles):
        yield


class AlbTraffic:
    """Time and traffic for a plan run against moto: each of the engine's sleeps is that much
    time passing, in which clients send `per_minute` requests to one listener rule, split as the
    live rule's weights say (read from the listener), each group answering 5xx at its rate; ALB
    publishes the counts to CloudWatch (put_metric_data, in the past of the simulated clock)."""

    def __init__(self, listener: AlbListener, cloudwatch: Any, priority: str, start: float,
                 per_minute: int, error_rates: Mapping[str, float]) -> None:
        self.listener, self.cloudwatch, self.priority = listener, cloudwatch, priority
        self.now, self.per_minute, self.error_rates = start, per_minute, error_rates
        self.seen: list[dict[str, int]] = []  # the live weights during each sleep

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        weights = self.listener.weights_at(self.priority)
        self.seen.append(weights)
        total = sum(weights.values())
        for group, weight in weights.items():
            requests = round(self.per_minute * seconds / 60 * weight / total)
            put_alb_metrics(self.cloudwatch, self.listener, group, self.now + seconds / 2,
                            requests=requests,
                            errors=round(requests * self.error_rates.get(group, 0.0)))
        self.now += seconds
