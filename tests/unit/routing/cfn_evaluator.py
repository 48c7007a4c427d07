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


def describe(action: dict[str, Any]) -> tuple[Any, ...]:
    if action["Type"] == "forward":
        groups = action["ForwardConfig"]["TargetGroups"]
        return ("forward", tuple(sorted(
            (g["TargetGroupArn"]["Ref"].removesuffix("TargetGroupArn").lower(), g["Weight"])
            for g in groups)))
    if action["Type"] == "fixed-response":
        return ("fixed-response", int(action["FixedResponseConfig"]["StatusCode"]))
    return ("redirect", int(action["RedirectConfig"]["StatusCode"].removeprefix("HTTP_")))


def evaluate(template: dict[str, Any], req: Request) -> tuple[Any, ...]:
    rules = sorted((r["Properties"] for r in template["Resources"].values()
                    if r["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"),
                   key=lambda p: p["Priority"])
    for props in rules:
        if all(_matches(c, req) for c in props["Conditions"]):
            return describe(props["Actions"][-1])
    return describe(template["Metadata"]["StranglerKit::DefaultActions"][-1])
