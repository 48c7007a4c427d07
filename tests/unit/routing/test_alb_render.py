"""The rendered listener rules: golden JSON, cfn-lint clean, and the same decisions as the matcher.

Regenerate the golden files with ROUTING_REGENERATE_GOLDEN=1 (and review the diff).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from troposphere import ImportValue, Ref

from infra import stacks
from routing.alb.render import render_listener_rules, render_template
from routing.conditions.base import RequestView
from routing.gateway.alb_settings import AlbSettings
from routing.gateway.matcher import choose_group, match
from routing.gateway.proxy import sticky_cookie
from routing.table.loader import load_table
from routing.table.model import FixedResponse, Forward, RouteTable

from .cfn_evaluator import evaluate, sticky_group

HERE = Path(__file__).parent
TABLES = {name: HERE / "tables" / f"{name}.toml" for name in ("shipped", "full_table")}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_rendered_template_matches_golden(name: str) -> None:
    rendered = render_template(load_table(TABLES[name])).to_json() + "\n"
    golden = HERE / "golden" / f"{name}.json"
    if os.environ.get("ROUTING_REGENERATE_GOLDEN") == "1":
        golden.write_text(rendered)
    assert golden.exists(), "no golden file yet: run with ROUTING_REGENERATE_GOLDEN=1"
    assert rendered == golden.read_text(), f"{golden} differs; if intended, regenerate it"


def test_rendered_templates_are_cfn_lint_clean(tmp_path: Path) -> None:
    paths = []
    for name, table in TABLES.items():
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(render_template(load_table(table)).to_json())
    lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(lint), *map(str, paths)], capture_output=True, text=True,
                            timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_embed_refs_and_import_values() -> None:
    table = load_table(TABLES["shipped"])
    rules = render_listener_rules(table, ImportValue("alb-listener"), {
        "monolith": Ref("Monolith"), "send": ImportValue("send-tg"), "verify": "arn:aws:tg/v"})
    as_json = [r.to_dict()["Properties"] for r in rules]
    assert [p["Priority"] for p in as_json] == [1, 2, 3, 10, 20]
    assert as_json[0]["ListenerArn"] == {"Fn::ImportValue": "alb-listener"}
    groups = as_json[3]["Actions"][0]["ForwardConfig"]["TargetGroups"]
    assert groups == [{"TargetGroupArn": {"Ref": "Monolith"}, "Weight": 100},
                      {"TargetGroupArn": {"Fn::ImportValue": "send-tg"}, "Weight": 0}]
    with pytest.raises(KeyError, match="verify"):
        render_listener_rules(table, "arn", {"monolith": "m", "send": "s"})


def _requests() -> list[dict[str, Any]]:
    paths = ["/", "/api/users", "/api/usersX", "/API/users", "/api/verifications",
             "/api/verifications/VE1/cancel", "/api/verification-checks", "/tea"]
    headers = [{}, {"x-backend": ["services"]}, {"x-backend": ["MONOLITH"]},
               {"host": ["old.example.com:80"]}, {"x-version": ["v2"]}, {"x-version": ["Beta-1"]}]
    queries = [[], [("beta", "TRUE")], [("other", "t")]]
    combos = itertools.product(paths, ["GET", "POST"], headers, queries, ["10.1.1.1", "127.0.0.1"])
    return [{"path": p, "method": m, "headers": h, "query": q, "ip": ip}
            for p, m, h, q, ip in combos]


def _matcher_says(table: RouteTable, req: dict[str, Any]) -> tuple[Any, ...]:
    view = RequestView(req["method"], req["path"],
                       tuple((k, v) for k, vs in req["headers"].items() for v in vs),
                       tuple(req["query"]), req["ip"])
    action = match(table, view).action
    if isinstance(action, Forward):
        return ("forward", tuple(sorted(action.weights)), action.stickiness_seconds)
    if isinstance(action, FixedResponse):
        return ("fixed-response", action.status_code)
    return ("redirect", action.status_code)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_matcher_and_rendered_rules_pick_the_same_action(name: str) -> None:
    table = load_table(TABLES[name])
    template = json.loads(render_template(table).to_json())
    decisions: dict[tuple[Any, ...], int] = {}
    for req in _requests():
        ours, theirs = _matcher_says(table, req), evaluate(template, req)
        assert ours == theirs, req
        decisions[ours] = decisions.get(ours, 0) + 1
    assert len(decisions) >= 4  # the request set really exercises several rules


@pytest.mark.parametrize("name", sorted(TABLES))
def test_the_gateway_honours_a_sticky_cookie_exactly_when_the_rendered_rule_would(
        name: str) -> None:
    """Target-group stickiness is part of the rendered rule (TargetGroupStickinessConfig):
    a cookie naming a group keeps the request there only with stickiness on and weight > 0."""
    table = load_table(TABLES[name])
    template = json.loads(render_template(table).to_json())
    cookie_values = [g.name for g in table.target_groups] + ["ghost"]
    honoured = 0
    for req in _requests():
        view = RequestView(req["method"], req["path"],
                           tuple((k, v) for k, vs in req["headers"].items() for v in vs),
                           tuple(req["query"]), req["ip"])
        action = match(table, view).action
        if not isinstance(action, Forward):
            continue
        for value, cookie in itertools.product(cookie_values, ("AWSALBTG", "AWSALBTGCORS")):
            theirs = sticky_group(template, {**req, "cookies": {cookie: value}})
            sticky = sticky_cookie({cookie: value}, action)
            picks = {choose_group(action, random.Random(seed), sticky=sticky,
                                  usable=dict.fromkeys(action.weight_map(), True))
                     for seed in range(40)}
            if theirs is not None:
                honoured += 1
                assert picks == {theirs}, (req, cookie, value)
            else:  # by weight, as without a cookie
                assert picks == {n for n, w in action.weights if w > 0}, (req, cookie, value)
    assert honoured > 0 or name == "shipped"  # full_table has a sticky weighted rule


def test_the_gateways_alb_defaults_agree_with_the_rendered_load_balancer() -> None:
    """Idle timeout and X-Forwarded-For processing are load balancer attributes, not rules: the
    platform stack renders them and the gateway's defaults must say the same."""
    platform = json.loads(stacks.render(stacks.build_all(TABLES["shipped"])["platform"]))
    (balancer,) = [r for r in platform["Resources"].values()
                   if r["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer"]
    attributes = {a["Key"]: a["Value"] for a in balancer["Properties"]["LoadBalancerAttributes"]}
    defaults = AlbSettings()
    assert float(attributes["idle_timeout.timeout_seconds"]) == defaults.idle_timeout_s
    # ALB's default when the attribute is not rendered is append; so is the gateway's.
    assert attributes.get("routing.http.xff_header_processing.mode", "append") == \
        defaults.xff_mode
