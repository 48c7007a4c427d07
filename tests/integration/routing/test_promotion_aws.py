"""The promotion engine's AWS adapters (routing/promotion/aws.py) against a listener and
CloudWatch metric data.

moto is the fake for AWS here (ELBv2 and CloudWatch), the one external service these tests
cannot reach; the listener is built in production's layout and the metric data is put as ALB
publishes it. moto lacks percentile statistics in get_metric_data: the one latency test adds
them (aws_listener.moto_percentiles), every other test runs on moto as shipped.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from routing.promotion.aws import (
    AlbFrontDoor,
    CloudWatchEvidence,
    EvidenceError,
    ListenerPriorities,
    aws_front_door_and_evidence,
)
from routing.promotion.engine import EXIT_COMPLETED, EXIT_FAILED, Engine, Options, Reporter
from routing.promotion.evidence import GroupWindow
from routing.promotion.frontdoor import FrontDoorError
from routing.table.loader import load_table
from routing.table.model import RouteTable
from routing.table.plans import ad_hoc_plan
from routing.table.weights import with_weights
from tests.integration.routing.aws_listener import (
    PREFIX,
    REGION,
    AlbListener,
    AlbTraffic,
    CountingCloudWatch,
    DeniedCloudWatch,
    RacingElbv2,
    create_listener,
    moto_percentiles,
    put_alb_metrics,
)

# The table's rule "verifications" (priority 10) sits one higher on the production listener.
VERIFICATIONS = "11"
CHECKS = "21"


@pytest.fixture
def table(table_file: Path) -> RouteTable:
    return load_table(table_file)


@pytest.fixture
def listener(table: RouteTable, monkeypatch: pytest.MonkeyPatch) -> Iterator[AlbListener]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield create_listener(table)


def front_door(listener: AlbListener, elbv2: Any = None) -> AlbFrontDoor:
    return AlbFrontDoor(elbv2 or listener.elbv2, listener.arn, PREFIX,
                        base_url="https://kit.example.com")


def test_apply_pushes_only_that_rule_and_reads_it_back(table: RouteTable,
                                                       listener: AlbListener) -> None:
    door = front_door(listener)
    shifted = with_weights(with_weights(table, "verifications", {"monolith": 75, "send": 25}),
                           "verification-checks", {"monolith": 50, "verify": 50})
    door.apply(shifted, "verifications")
    assert listener.weights_at(VERIFICATIONS) == {"monolith": 75, "send": 25}
    assert listener.weights_at(CHECKS) == {"monolith": 100, "verify": 0}  # not this rule
    assert door.describe() == f"ALB listener {listener.arn}"
    assert door.pin_url() == "https://kit.example.com"


def test_apply_of_weights_already_live_pushes_nothing(table: RouteTable,
                                                      listener: AlbListener) -> None:
    racing = RacingElbv2(listener, {"monolith": 50, "send": 50})
    front_door(listener, racing).apply(table, "verifications")
    assert racing.pushed == []
    assert listener.weights_at(VERIFICATIONS) == {"monolith": 100, "send": 0}


def test_another_writer_between_push_and_read_back_is_caught(table: RouteTable,
                                                            listener: AlbListener) -> None:
    racing = RacingElbv2(listener, {"monolith": 50, "send": 50})
    shifted = with_weights(table, "verifications", {"monolith": 90, "send": 10})
    with pytest.raises(FrontDoorError) as caught:
        front_door(listener, racing).apply(shifted, "verifications")
    message = str(caught.value)
    assert racing.pushed == [listener.rule_at(VERIFICATIONS)["RuleArn"]]  # it did push
    assert "('monolith', 50), ('send', 50)" in message  # what the listener shows
    assert "('monolith', 90), ('send', 10)" in message  # what the table has
    assert f"python -m routing verify --listener-arn {listener.arn} --region {REGION} " \
           f"--tg-name-prefix {PREFIX}" in message
    assert listener.weights_at(VERIFICATIONS) == {"monolith": 50, "send": 50}


def test_weights_never_go_onto_a_rule_with_other_conditions(table: RouteTable,
                                                           listener: AlbListener) -> None:
    before = listener.rule_at(VERIFICATIONS)
    listener.elbv2.modify_rule(RuleArn=before["RuleArn"], Conditions=[
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/elsewhere*"]}}])
    shifted = with_weights(table, "verifications", {"monolith": 90, "send": 10})
    with pytest.raises(FrontDoorError, match="conditions are not the table's"):
        front_door(listener).apply(shifted, "verifications")
    assert listener.rule_at(VERIFICATIONS)["Actions"] == before["Actions"]


def test_default_action_goes_through_modify_listener(table: RouteTable,
                                                     listener: AlbListener) -> None:
    listener.elbv2.modify_listener(ListenerArn=listener.arn, DefaultActions=[
        {"Type": "forward", "TargetGroupArn": listener.group_arns["send"]}])
    front_door(listener).apply(table, "default")
    assert listener.weights_at("default") == {"monolith": 1}


def test_rollback_by_applying_the_original_weights(table: RouteTable,
                                                   listener: AlbListener) -> None:
    door = front_door(listener)
    for weight in (10, 50):
        door.apply(with_weights(table, "verifications",
                                {"monolith": 100 - weight, "send": weight}), "verifications")
        assert listener.weights_at(VERIFICATIONS)["send"] == weight
    door.apply(table, "verifications")
    assert listener.weights_at(VERIFICATIONS) == {"monolith": 100, "send": 0}


def test_evidence_counts_the_window_s_whole_minutes(table: RouteTable,
                                                    listener: AlbListener) -> None:
    cloudwatch = CountingCloudWatch(boto3.client("cloudwatch", region_name=REGION))
    opened = math.floor(time.time() / 60) * 60 - 600 + 20  # 20 s into a minute, 10 min ago
    now = opened
    evidence = CloudWatchEvidence(cloudwatch, listener.elbv2, listener.arn, PREFIX,
                                  clock=lambda: now, priorities=ListenerPriorities(table))
    window = evidence.open_window("verifications")
    for at, send, send_5xx, monolith in [
            (opened - 80, 7, 3, 700),  # the minute before: old weights
            (opened - 10, 5, 2, 500),  # the same minute before opening: not separable, left out
            (opened + 45, 100, 3, 900), (opened + 110, 50, 1, 450),  # the window's minutes
            (opened + 400, 1000, 1000, 1000)]:  # after the read's now
        put_alb_metrics(cloudwatch.client, listener, "send", at, requests=send, errors=send_5xx)
        put_alb_metrics(cloudwatch.client, listener, "monolith", at, requests=monolith)
    put_alb_metrics(cloudwatch.client, listener, "verify", opened + 45, requests=9, errors=9)

    now = opened + 30  # no whole minute yet: nothing to ask
    assert window.read() == {"monolith": GroupWindow(), "send": GroupWindow()}
    assert cloudwatch.calls == 0
    now = opened + 200
    assert window.read() == {"monolith": GroupWindow(requests=1350, errors=0),
                             "send": GroupWindow(requests=150, errors=4)}  # p99, p50 None
    assert cloudwatch.calls == 1  # every query of every group in one GetMetricData
    assert "AWS/ApplicationELB" in evidence.describe()


def test_evidence_latency_percentiles_over_the_window(table: RouteTable,
                                                     listener: AlbListener) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    opened = math.floor(time.time() / 60) * 60 - 600  # on a minute, 10 min ago
    now = opened
    evidence = CloudWatchEvidence(cloudwatch, listener.elbv2, listener.arn, PREFIX,
                                  clock=lambda: now, priorities=ListenerPriorities(table))
    window = evidence.open_window("verifications")
    now = opened + 180
    put_alb_metrics(cloudwatch, listener, "send", opened - 30, latencies={9.0: 500})  # before
    put_alb_metrics(cloudwatch, listener, "send", opened + 10, requests=600,
                    latencies={0.05: 590, 1.5: 10})
    put_alb_metrics(cloudwatch, listener, "send", opened + 70, requests=400,
                    latencies={0.05: 390, 0.2: 10})
    with moto_percentiles():
        send = window.read()["send"]
    # 1000 answers: 980 at 50 ms, 10 at 200 ms, 10 at 1.5 s; the 990th is 200 ms. A p99 of the
    # two minutes' p99s (1.5 s, 0.2 s) would be neither.
    assert (send.requests, send.p99_s, send.p50_s) == (1000, 0.2, 0.05)


def test_evidence_needs_to_know_where_the_rule_is(listener: AlbListener) -> None:
    evidence = CloudWatchEvidence(boto3.client("cloudwatch", region_name=REGION),
                                  listener.elbv2, listener.arn, PREFIX)
    with pytest.raises(EvidenceError, match="listener priority is unknown"):
        evidence.open_window("verifications")


def test_the_factory_s_pair_shares_the_rule_s_place(table: RouteTable,
                                                    listener: AlbListener) -> None:
    door, evidence = aws_front_door_and_evidence(listener.arn, REGION, PREFIX, None)
    door.apply(with_weights(table, "verifications", {"monolith": 90, "send": 10}),
               "verifications")
    assert listener.weights_at(VERIFICATIONS) == {"monolith": 90, "send": 10}
    assert evidence.open_window("verifications").read() == {"monolith": GroupWindow(),
                                                            "send": GroupWindow()}
    assert door.pin_url() is None


def run_plan(table_file: Path, listener: AlbListener, new_side_5xx: float,
             evidence_client: Any = None) -> tuple[int, AlbTraffic, str]:
    """The verifications rule's plan, 10 % -> 50 % -> 100 % with 5 minute bakes polled each
    minute, walked by the engine on the listener with CloudWatch as evidence, under 2000
    requests a minute (the monolith answering 0.2 % 5xx)."""
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    start = math.floor(time.time() / 60) * 60 - 7200 + 5  # two hours ago, 5 s into a minute
    traffic = AlbTraffic(listener, cloudwatch, VERIFICATIONS, start, per_minute=2000,
                         error_rates={"monolith": 0.002, "send": new_side_5xx})
    priorities = ListenerPriorities()
    door = AlbFrontDoor(listener.elbv2, listener.arn, PREFIX, None, priorities)
    evidence = CloudWatchEvidence(evidence_client or cloudwatch, listener.elbv2, listener.arn,
                                  PREFIX, clock=traffic.clock, priorities=priorities)
    out = io.StringIO()
    engine = Engine(table_file, table_file.parent / "audit.log",
                    ad_hoc_plan("verifications", "send", [10, 50, 100], 300.0), door, evidence,
                    Reporter(out=out, err=out), Options(poll_s=60.0, run_hooks=False),
                    clock=traffic.clock, sleep=traffic.sleep)
    return engine.start(), traffic, out.getvalue()


def test_a_healthy_plan_completes_on_the_alb(table_file: Path, listener: AlbListener) -> None:
    code, traffic, out = run_plan(table_file, listener, new_side_5xx=0.002)
    assert code == EXIT_COMPLETED, out
    assert listener.weights_at(VERIFICATIONS) == {"monolith": 0, "send": 100}
    assert {"monolith": 90, "send": 10} in traffic.seen  # each bake ran at its step's weights
    assert {"monolith": 50, "send": 50} in traffic.seen
    assert out.count("verdict PASS") == 2


def test_a_failing_new_side_is_rolled_back_on_the_alb(table_file: Path,
                                                      listener: AlbListener) -> None:
    code, traffic, out = run_plan(table_file, listener, new_side_5xx=0.05)
    assert code == EXIT_FAILED, out
    assert "verdict FAIL" in out and "ROLLED BACK" in out
    assert traffic.seen and all(w == {"monolith": 90, "send": 10} for w in traffic.seen)
    assert listener.weights_at(VERIFICATIONS) == {"monolith": 100, "send": 0}  # live, again
    assert len(traffic.seen) <= 5  # within the first bake (five one-minute polls)


def test_evidence_that_cannot_be_read_rolls_the_rule_back(table_file: Path,
                                                          listener: AlbListener) -> None:
    code, traffic, out = run_plan(table_file, listener, new_side_5xx=0.0,
                                  evidence_client=DeniedCloudWatch())
    assert code == EXIT_FAILED, out
    assert "not authorized to perform: cloudwatch:GetMetricData" in out
    assert traffic.seen == [{"monolith": 90, "send": 10}]  # the first whole minute's read
    assert listener.weights_at(VERIFICATIONS) == {"monolith": 100, "send": 0}


def test_a_listener_that_is_not_there_is_a_front_door_error(table: RouteTable,
                                                            listener: AlbListener) -> None:
    gone = listener.arn.rsplit("/", 1)[0] + "/0000000000000000"
    door = AlbFrontDoor(listener.elbv2, gone, PREFIX)
    with pytest.raises(FrontDoorError, match=r"ListenerNotFound.*routing verify --listener-arn"):
        door.apply(table, "verifications")
