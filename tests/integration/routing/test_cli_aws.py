"""`verify` and `apply` against an ALB listener.

AWS is the one external service these tests cannot reach, so moto fakes it here (and only it);
everything else in the routing tests is real.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from routing.alb.render import render_default_actions, render_production_rules
from routing.cli.main import main
from routing.table.loader import load_table

REGION = "us-east-1"
OPERATORS = ["203.0.113.0/24"]


@pytest.fixture(params=["pins-open-to-operators", "pins-closed"])
def listener(table_file: Path, monkeypatch: pytest.MonkeyPatch,
             request: pytest.FixtureRequest) -> Iterator[tuple[str, Any]]:
    """A load balancer whose listener carries the table's rules as the infra stack builds it
    (routing/alb/production.py): with OperatorCidrs given, or without (no pin rules)."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24",
                                     AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
                   for i, zone in enumerate("ab")]
        elbv2 = boto3.client("elbv2", region_name=REGION)
        lb = elbv2.create_load_balancer(Name="kit", Subnets=subnets)["LoadBalancers"][0]
        arns = {name: elbv2.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc)[
            "TargetGroups"][0]["TargetGroupArn"] for name in ("monolith", "send", "verify")}
        table = load_table(table_file)
        default = [a.to_dict() for a in render_default_actions(table, arns)]
        arn = elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP",
                                    Port=80, DefaultActions=default)["Listeners"][0]["ListenerArn"]
        for entry, rule in render_production_rules(table, arn, arns, OPERATORS):
            if entry.pin and request.param == "pins-closed":
                continue
            props = rule.to_dict()["Properties"]
            elbv2.create_rule(ListenerArn=arn, Priority=props["Priority"],
                              Conditions=props["Conditions"], Actions=props["Actions"])
        yield arn, elbv2


def run(table: Path, *args: str) -> int:
    return main(["--table", str(table), *args, "--region", REGION])


def test_verify_passes_when_the_alb_matches_the_table(
        table_file: Path, listener: tuple[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(table_file, "verify", "--listener-arn", listener[0]) == 0
    assert "0 difference(s)" in capsys.readouterr().out


def test_verify_reports_drift_and_fails(table_file: Path, listener: tuple[str, Any],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    arn, elbv2 = listener
    rules = elbv2.describe_rules(ListenerArn=arn)["Rules"]
    changed = next(r for r in rules if r["Priority"] == "11")  # the table's 10: see production
    groups = changed["Actions"][0]["ForwardConfig"]["TargetGroups"]
    elbv2.modify_rule(RuleArn=changed["RuleArn"], Actions=[{"Type": "forward", "ForwardConfig": {
        "TargetGroups": [{**groups[0], "Weight": 50}, {**groups[1], "Weight": 50}]}}])
    assert run(table_file, "verify", "--listener-arn", arn) == 1
    out = capsys.readouterr().out
    assert "drift: rule 'verifications' (priority 10): action differs" in out
    assert "('monolith', 50)" in out


def test_apply_pushes_weights_then_verifies(table_file: Path, listener: tuple[str, Any],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    arn, elbv2 = listener
    assert main(["--table", str(table_file), "shift", "verifications", "--to", "send", "25"]) == 0
    assert run(table_file, "verify", "--listener-arn", arn) == 1  # the ALB lags the table
    assert run(table_file, "apply", "--listener-arn", arn) == 0
    assert "applied verifications: {'monolith': 75, 'send': 25}" in capsys.readouterr().out
    live = next(r for r in elbv2.describe_rules(ListenerArn=arn)["Rules"]
                if r["Priority"] == "11")
    weights = sorted(g["Weight"] for g in live["Actions"][0]["ForwardConfig"]["TargetGroups"])
    assert weights == [25, 75]


def test_verify_flags_a_pin_rule_open_to_every_address(
        table_file: Path, listener: tuple[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    arn, elbv2 = listener
    rules = elbv2.describe_rules(ListenerArn=arn)["Rules"]
    pin = next((r for r in rules if r["Priority"] == "2"), None)  # the table's pin-monolith
    if pin is None:  # no pin rules: add one as the table alone renders it, unrestricted
        [monolith] = elbv2.describe_target_groups(Names=["monolith"])["TargetGroups"]
        elbv2.create_rule(ListenerArn=arn, Priority=2, Conditions=[{
            "Field": "http-header", "HttpHeaderConfig": {
                "HttpHeaderName": "X-Backend", "Values": ["monolith"]}}],
            Actions=[{"Type": "forward", "TargetGroupArn": monolith["TargetGroupArn"]}])
    else:
        elbv2.modify_rule(RuleArn=pin["RuleArn"], Conditions=[
            c for c in pin["Conditions"] if c["Field"] != "source-ip"])
    assert run(table_file, "verify", "--listener-arn", arn) == 1
    assert "drift: rule 'pin-monolith' (priority 1): a pin rule open to every address" in \
        capsys.readouterr().out


def test_apply_never_pushes_weights_onto_a_rule_with_other_conditions(
        table_file: Path, listener: tuple[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    """A listener laid out otherwise (e.g. the table's own priorities) keeps its actions."""
    arn, elbv2 = listener
    rules = elbv2.describe_rules(ListenerArn=arn)["Rules"]
    target = next(r for r in rules if r["Priority"] == "11")
    elbv2.modify_rule(RuleArn=target["RuleArn"], Conditions=[
        {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/elsewhere*"]}}])
    assert main(["--table", str(table_file), "shift", "verifications", "--to", "send", "25"]) == 0
    assert run(table_file, "apply", "--listener-arn", arn) == 1
    assert "applied verifications" not in capsys.readouterr().out
    after = next(r for r in elbv2.describe_rules(ListenerArn=arn)["Rules"]
                 if r["Priority"] == "11")
    assert after["Actions"] == target["Actions"]
