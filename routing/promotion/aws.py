"""The promotion engine on a live ALB: the listener as its front door, CloudWatch as its evidence.

Front door (AlbFrontDoor): a step pushes only the promoted rule's forward weights (ModifyRule, or
ModifyListener for "default"), onto the live rule that production's layout puts at the rule's
listener priority (routing/alb/production.py) and only when that rule's conditions are the
table's, then reads the listener back (DescribeRules) and refuses to go on unless the live rule
shows the table's weights and conditions, as Argo Rollouts' target group verification does.

Evidence (CloudWatchEvidence): ALB's own metrics in `AWS/ApplicationELB` per target group of the
rule, read with one GetMetricData call per read: RequestCount (Sum), HTTPCode_Target_5XX_Count
(Sum), TargetResponseTime (p99, p50). What that can and cannot tell:

- One-minute resolution. ALB publishes these metrics per minute, and a window counts only the
  whole minutes that begin at or after it opened (so traffic at the previous weights never
  counts); the metrics also arrive a minute or two late. A bake shorter than a few minutes
  cannot be judged from CloudWatch: plan bakes of 5 minutes or more on an ALB.
- Per target group, not per rule: ALB has no per-rule target group metrics, so a group that
  several rules (or the default action) forward to brings all of its traffic into the window.
- 5xx are the targets' own (HTTPCode_Target_5XX_Count). The 502/503/504 the load balancer
  answers itself (HTTPCode_ELB_5XX_Count) have no TargetGroup dimension and are not counted.
- Latency is CloudWatch's percentile over the whole window (one period as long as the window):
  a p99 of per-minute p99s would be no p99. No histogram (GroupWindow.latency stays None).
"""

from __future__ import annotations

import datetime
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from routing.alb import api, production
from routing.alb.live import Live, conditions_match
from routing.promotion.evidence import Evidence, GroupWindow
from routing.promotion.frontdoor import FrontDoorError
from routing.table.model import DEFAULT_RULE_NAME, Forward, RouteTable

if TYPE_CHECKING:
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client

NAMESPACE = "AWS/ApplicationELB"
PERIOD_S = 60  # ALB's metrics resolution
PERCENTILES = {"p99_s": "p99", "p50_s": "p50"}  # GroupWindow field: CloudWatch statistic


class MetricDataClient(Protocol):
    """The one CloudWatch call used here (boto3's cloudwatch client; no stubs installed)."""

    def get_metric_data(self, **kwargs: Any) -> Mapping[str, Any]: ...


class EvidenceError(FrontDoorError):
    """The rule's target groups are not on the listener, or CloudWatch cannot be read; the
    message says why. A FrontDoorError, so the engine rolls the rule back rather than leave
    traffic on a side nobody can judge."""


class ListenerPriorities:
    """Which listener priority holds each table rule. Production's layout needs the table, which
    only the front door is given (apply); the evidence source, built with the same object by
    aws_front_door_and_evidence, finds the rule's live target groups through it."""

    def __init__(self, table: RouteTable | None = None) -> None:
        self._of: dict[str, str] = {DEFAULT_RULE_NAME: "default"}
        if table is not None:
            self.learn(table)

    def learn(self, table: RouteTable) -> None:
        self._of.update({e.rule.name: str(e.priority) for e in production.listener_rules(table)})

    def of(self, rule: str) -> str | None:
        return self._of.get(rule)


def load_balancer_dimension(listener_arn: str) -> str:
    """arn:...:listener/app/NAME/ID/LISTENER-ID -> app/NAME/ID (CloudWatch's LoadBalancer)."""
    _, _, path = listener_arn.partition(":listener/")
    parts = path.split("/")
    if len(parts) != 4 or parts[0] != "app":
        raise ValueError(f"not an Application Load Balancer listener ARN: {listener_arn!r}")
    return "/".join(parts[:3])


def target_group_dimension(target_group_arn: str) -> str:
    """arn:...:targetgroup/NAME/ID -> targetgroup/NAME/ID (CloudWatch's TargetGroup)."""
    resource = target_group_arn.rsplit(":", 1)[-1]
    if not resource.startswith("targetgroup/") or resource.count("/") != 2:
        raise ValueError(f"not a target group ARN: {target_group_arn!r}")
    return resource


class AlbFrontDoor:
    def __init__(self, elbv2: ElasticLoadBalancingv2Client, listener_arn: str,
                 tg_name_prefix: str, base_url: str | None = None,
                 priorities: ListenerPriorities | None = None) -> None:
        self.elbv2, self.listener_arn, self.prefix = elbv2, listener_arn, tg_name_prefix
        self.base_url = base_url
        self.priorities = priorities if priorities is not None else ListenerPriorities()

    def describe(self) -> str:
        return f"ALB listener {self.listener_arn}"

    def pin_url(self) -> str | None:
        return self.base_url

    def apply(self, table: RouteTable, rule: str) -> None:
        try:
            self._apply(table, rule)
        except (BotoCoreError, ClientError) as error:  # denied, throttled past retries, gone
            raise FrontDoorError(f"rule {rule!r}: {error}{self._next_step()}") from error

    def _apply(self, table: RouteTable, rule: str) -> None:
        self.priorities.learn(table)
        action = table.action_of(rule)
        if action is None:
            raise FrontDoorError(f"no rule named {rule!r} in the table")
        if not isinstance(action, Forward):
            raise FrontDoorError(f"rule {rule!r} is not a forward rule in the table; only forward "
                                 "weights are pushed to the ALB")
        entry = self._entry(table, rule)
        live = Live(self.elbv2, self.listener_arn, self.prefix)
        got = self._live_rule(live, entry)
        missing = [n for n, _ in action.weights if n not in live.arns]
        if missing:
            names = ", ".join(self.prefix + n for n in missing)
            raise FrontDoorError(f"rule {rule!r}: no target group {names} in this account and "
                                 f"region{self._next_step()}")
        if live.action_of(got) != live.wanted(action):
            rendered = api.action(action, live.arns)
            if entry is None:
                self.elbv2.modify_listener(ListenerArn=self.listener_arn, DefaultActions=[rendered])  # type: ignore[list-item]
            else:
                self.elbv2.modify_rule(RuleArn=got["RuleArn"], Actions=[rendered])  # type: ignore[list-item]
        # Read back, as Argo's target group verification does: what serves is what counts.
        after = Live(self.elbv2, self.listener_arn, self.prefix)
        shown = self._live_rule(after, entry)
        if after.action_of(shown) != after.wanted(action):
            raise FrontDoorError(
                f"rule {rule!r}{self._where(entry)}: the listener shows "
                f"{after.action_of(shown)} after the push, the table {after.wanted(action)}; "
                "another writer (CloudFormation, the console, a second promote) may have changed "
                f"it{self._next_step()}")

    def _entry(self, table: RouteTable, rule: str) -> production.ListenerRule | None:
        if rule == DEFAULT_RULE_NAME:
            return None
        return next(e for e in production.listener_rules(table) if e.rule.name == rule)

    def _live_rule(self, live: Live, entry: production.ListenerRule | None) -> dict[str, Any]:
        key = "default" if entry is None else str(entry.priority)
        got = live.by_priority().get(key)
        if got is None:
            raise FrontDoorError(f"rule {entry.rule.name if entry else 'default'!r}: no live rule "
                                 f"at listener priority {key}{self._next_step()}")
        if entry is not None and not conditions_match(entry, got):
            raise FrontDoorError(f"rule {entry.rule.name!r}{self._where(entry)}: the live rule's "
                                 f"conditions are not the table's (live {got['Conditions']}); "
                                 f"weights are never pushed onto another rule{self._next_step()}")
        return got

    @staticmethod
    def _where(entry: production.ListenerRule | None) -> str:
        return "" if entry is None else f" (listener priority {entry.priority})"

    def _next_step(self) -> str:
        return (f". Compare the listener with the table: `python -m routing verify --listener-arn "
                f"{self.listener_arn} --region {self.elbv2.meta.region_name}"
                + (f" --tg-name-prefix {self.prefix}" if self.prefix else "") + "`")


@dataclass(frozen=True)
class _Group:
    name: str  # the table's name (the live name without the prefix)
    dimension: str  # targetgroup/NAME/ID


class CloudWatchEvidence:
    def __init__(self, cloudwatch: MetricDataClient, elbv2: ElasticLoadBalancingv2Client,
                 listener_arn: str, tg_name_prefix: str,
                 clock: Callable[[], float] = time.time,
                 priorities: ListenerPriorities | None = None) -> None:
        self.cloudwatch, self.elbv2, self.clock = cloudwatch, elbv2, clock
        self.listener_arn, self.prefix = listener_arn, tg_name_prefix
        self.load_balancer = load_balancer_dimension(listener_arn)
        self.priorities = priorities if priorities is not None else ListenerPriorities()

    def describe(self) -> str:
        return (f"CloudWatch {NAMESPACE} for {self.load_balancer} ({PERIOD_S} s periods: bakes "
                "of a few minutes at least)")

    def open_window(self, rule: str) -> CloudWatchWindow:
        """The rule's target groups as the live listener forwards to them now."""
        key = self.priorities.of(rule)
        if key is None:
            raise EvidenceError(f"rule {rule!r}: its listener priority is unknown (the front "
                                "door learns it from the table on apply)")
        try:
            live = Live(self.elbv2, self.listener_arn, self.prefix)
        except (BotoCoreError, ClientError) as error:
            raise EvidenceError(f"rule {rule!r}: {error}") from error
        got = live.by_priority().get(key)
        action = live.action_of(got) if got is not None else ("none",)
        if action[0] != "forward":
            raise EvidenceError(f"rule {rule!r}: no forward action at listener priority {key}")
        arns = [live.arns.get(name, name) for name, _ in action[1]]  # (name, weight) pairs
        groups = tuple(_Group(live.names.get(arn, arn), target_group_dimension(arn))
                       for arn in arns)
        return CloudWatchWindow(self, groups, self.clock())


class CloudWatchWindow:
    def __init__(self, source: CloudWatchEvidence, groups: tuple[_Group, ...],
                 opened: float) -> None:
        self.source, self.groups, self.opened = source, groups, opened
        # Only whole minutes that start after the window opened: none holds older traffic.
        self.start = math.ceil(opened / PERIOD_S) * PERIOD_S

    def read(self) -> Evidence:
        end = self.source.clock()
        if end <= self.start:  # not one minute begun yet
            return {g.name: GroupWindow() for g in self.groups}
        window_s = math.ceil((end - self.start) / PERIOD_S) * PERIOD_S
        try:
            values = self._metric_data(self._queries(window_s), end)
        except (BotoCoreError, ClientError) as error:
            raise EvidenceError(f"CloudWatch GetMetricData for {self.source.load_balancer}: "
                                f"{error}") from error
        # A percentile's one period spans the window, so one value; were CloudWatch to split
        # it, the largest is an upper bound. No data: 0 requests, no percentile.
        return {group.name: GroupWindow(
            requests=round(sum(values.get(f"g{i}_requests", []))),
            errors=round(sum(values.get(f"g{i}_errors", []))),
            p99_s=_largest(values.get(f"g{i}_p99_s")), p50_s=_largest(values.get(f"g{i}_p50_s")),
        ) for i, group in enumerate(self.groups)}

    def _queries(self, window_s: int) -> list[dict[str, Any]]:
        queries = []
        for i, group in enumerate(self.groups):
            dimensions = [{"Name": "LoadBalancer", "Value": self.source.load_balancer},
                          {"Name": "TargetGroup", "Value": group.dimension}]
            wanted = [("requests", "RequestCount", "Sum", PERIOD_S),
                      ("errors", "HTTPCode_Target_5XX_Count", "Sum", PERIOD_S),
                      *((field, "TargetResponseTime", stat, window_s)
                        for field, stat in PERCENTILES.items())]
            queries += [{"Id": f"g{i}_{field}", "ReturnData": True, "MetricStat": {
                "Metric": {"Namespace": NAMESPACE, "MetricName": metric,
                           "Dimensions": dimensions},
                "Period": period, "Stat": stat}} for field, metric, stat, period in wanted]
        return queries

    def _metric_data(self, queries: list[dict[str, Any]], end: float) -> dict[str, list[float]]:
        """{query id: its values}: one call (more only if CloudWatch pages the answer)."""
        found: dict[str, list[float]] = {}
        token: dict[str, str] = {}
        while True:
            page = self.source.cloudwatch.get_metric_data(
                MetricDataQueries=queries, StartTime=_utc(self.start), EndTime=_utc(end),
                ScanBy="TimestampAscending", **token)
            for result in page["MetricDataResults"]:
                found.setdefault(result["Id"], []).extend(float(v) for v in result["Values"])
            if not page.get("NextToken"):
                return found
            token = {"NextToken": page["NextToken"]}


def _largest(values: list[float] | None) -> float | None:
    return max(values) if values else None


def _utc(epoch_s: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch_s, datetime.UTC)


def aws_front_door_and_evidence(listener_arn: str, region: str | None, tg_name_prefix: str,
                                base_url: str | None) -> tuple[AlbFrontDoor, CloudWatchEvidence]:
    """The pair the CLI's --listener-arn uses, sharing where each rule sits on the listener."""
    import boto3  # imported here: the other commands should not pay for it

    elbv2 = boto3.client("elbv2", region_name=region)
    cloudwatch: MetricDataClient = boto3.client("cloudwatch", region_name=region)
    priorities = ListenerPriorities()
    return (AlbFrontDoor(elbv2, listener_arn, tg_name_prefix, base_url, priorities),
            CloudWatchEvidence(cloudwatch, elbv2, listener_arn, tg_name_prefix,
                               priorities=priorities))
