"""ALB rule evaluation for one request: lowest priority first, all conditions must match."""

from __future__ import annotations

import ipaddress
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from routing.model import DEFAULT_RULE_NAME, Action, Condition, Forward, RouteTable


@dataclass(frozen=True)
class RequestView:
    """What ALB conditions can see of a request."""

    method: str
    path: str  # the path only, never the query string
    headers: tuple[tuple[str, str], ...] = ()  # (name, value), names in any case
    query: tuple[tuple[str, str], ...] = ()  # decoded (key, value) pairs in order
    source_ip: str = "127.0.0.1"

    def header_values(self, name: str) -> list[str]:
        wanted = name.lower()
        return [v for k, v in self.headers if k.lower() == wanted]


@dataclass(frozen=True)
class Match:
    rule: str  # rule name or DEFAULT_RULE_NAME
    action: Action


@lru_cache(maxsize=4096)
def wildcard_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """`*` is zero or more characters, `?` exactly one; everything else literal."""
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _any(patterns: Iterable[str], candidates: Iterable[str], ignore_case: bool) -> bool:
    texts = list(candidates)
    return any(wildcard_regex(p, ignore_case).fullmatch(t) for p in patterns for t in texts)


def _host_names(request: RequestView) -> list[str]:
    """ALB compares the host name: drop a ":port" suffix, keeping IPv6 literals whole."""
    names = []
    for value in request.header_values("host"):
        if value.startswith("["):
            names.append(value[: value.find("]") + 1] if "]" in value else value)
        else:
            names.append(value.split(":", 1)[0])
    return names


def condition_matches(condition: Condition, request: RequestView) -> bool:
    kind = condition.field
    if kind == "path-pattern":
        return _any(condition.values, [request.path], ignore_case=False)
    if kind == "http-request-method":
        return request.method in condition.values
    if kind == "host-header":
        return _any(condition.values, _host_names(request), ignore_case=True)
    if kind == "http-header":
        return _any(condition.values, request.header_values(condition.header_name or ""),
                    ignore_case=True)
    if kind == "query-string":
        return any(
            wildcard_regex(pair.value, True).fullmatch(value)
            and (pair.key is None or wildcard_regex(pair.key, True).fullmatch(key))
            for pair in condition.pairs for key, value in request.query)
    if kind == "source-ip":
        try:
            address = ipaddress.ip_address(request.source_ip)
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(v) for v in condition.values)
    return False


def match(table: RouteTable, request: RequestView) -> Match:
    for rule in table.by_priority:
        if all(condition_matches(c, request) for c in rule.conditions):
            return Match(rule.name, rule.action)
    return Match(DEFAULT_RULE_NAME, table.default_action)


def choose_group(forward: Forward, rng: random.Random | None = None,
                 sticky: str | None = None, usable: Mapping[str, bool] | None = None) -> str:
    """Weighted choice; a sticky group is kept while it still has weight > 0 (and is usable)."""
    weights = forward.weight_map()
    if sticky is not None and weights.get(sticky, 0) > 0 and (usable or {}).get(sticky, True):
        return sticky
    names = [n for n, w in forward.weights if w > 0]
    return (rng or random).choices(names, weights=[weights[n] for n in names])[0]
