"""A second, independent reading of ALB rules: straight from the rendered CloudFormation JSON.

Written against the JSON (fnmatch, not routing.gateway.matcher), so a mistake in the renderer or
in the matcher shows up as a disagreement.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from typing import Any

Request = dict[str, Any]  # method, path, headers {lower name: [values]}, query [(k, v)], ip


def _glob(pattern: str, text: str, fold: bool) -> bool:
    return fnmatch.fnmatchcase(text.lower(), pattern.lower()) if fold else \
        fnmatch.fnmatchcase(text, pattern)


def _matches(cond: dict[str, Any], req: Request) -> bool:
    field = cond["Field"]
    if field == "path-pattern":
        return any(_glob(v, req["path"], False) for v in cond["PathPatternConfig"]["Values"])
    if field == "http-request-method":
        return req["method"] in cond["HttpRequestMethodConfig"]["Values"]
    if field == "host-header":
        hosts = [h.split(":")[0] for h in req["headers"].get("host", [])]
        return any(_glob(v, h, True) for v in cond["HostHeaderConfig"]["Values"] for h in hosts)
    if field == "http-header":
        config = cond["HttpHeaderConfig"]
        got = req["headers"].get(config["HttpHeaderName"].lower(), [])
        return any(_glob(v, g, True) for v in config["Values"] for g in got)
    if field == "query-string":
        return any(_glob(p["Value"], v, True) and ("Key" not in p or _glob(p["Key"], k, True))
                   for p in cond["QueryStringConfig"]["Values"] for k, v in req["query"])
    if field == "source-ip":
        return any(ipaddress.ip_address(req["ip"]) in ipaddress.ip_network(v)
                   for v in cond["SourceIpConfig"]["Values"])
    raise AssertionError(f"unknown field {field}")


def _group_name(group: dict[str, Any]) -> str:
    return str(group["TargetGroupArn"]["Ref"].removesuffix("TargetGroupArn").lower())


def describe(action: dict[str, Any]) -> tuple[Any, ...]:
    """Forward: the (group, weight) pairs and the group stickiness in seconds (None: off)."""
    if action["Type"] == "forward":
        config = action["ForwardConfig"]
        sticky = config.get("TargetGroupStickinessConfig", {})
        return ("forward", tuple(sorted((_group_name(g), g["Weight"])
                                        for g in config["TargetGroups"])),
                sticky["DurationSeconds"] if sticky.get("Enabled") else None)
    if action["Type"] == "fixed-response":
        return ("fixed-response", int(action["FixedResponseConfig"]["StatusCode"]))
    return ("redirect", int(action["RedirectConfig"]["StatusCode"].removeprefix("HTTP_")))


def _terminal_action(template: dict[str, Any], req: Request) -> dict[str, Any]:
    rules = sorted((r["Properties"] for r in template["Resources"].values()
                    if r["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"),
                   key=lambda p: p["Priority"])
    for props in rules:
        if all(_matches(c, req) for c in props["Conditions"]):
            return dict(props["Actions"][-1])
    return dict(template["Metadata"]["StranglerKit::DefaultActions"][-1])


def evaluate(template: dict[str, Any], req: Request) -> tuple[Any, ...]:
    return describe(_terminal_action(template, req))


def sticky_group(template: dict[str, Any], req: Request) -> str | None:
    """The group an AWSALBTG (or AWSALBTGCORS) cookie in req["cookies"] keeps the request on:
    only with group stickiness enabled, and only while that group still has weight above 0.
    None: ALB chooses by weight."""
    action = _terminal_action(template, req)
    if action["Type"] != "forward":
        return None
    config = action["ForwardConfig"]
    if not config.get("TargetGroupStickinessConfig", {}).get("Enabled"):
        return None
    cookies = req.get("cookies", {})
    named = cookies.get("AWSALBTG") or cookies.get("AWSALBTGCORS")
    weights = {_group_name(g): g["Weight"] for g in config["TargetGroups"]}
    return named if weights.get(named, 0) > 0 else None
