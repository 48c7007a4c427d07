"""ALB matching semantics, as the gateway applies them."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from routing.matcher import RequestView, choose_group, match
from routing.model import (
    Condition,
    FixedResponse,
    Forward,
    QueryPair,
    RouteTable,
    Rule,
    TargetGroup,
)


def _table(*conditions: Condition) -> RouteTable:
    return RouteTable(
        target_groups=(TargetGroup("a", "http://127.0.0.1:1"),),
        rules=(Rule("r", 5, conditions, FixedResponse(200)),),
        default_action=Forward((("a", 1),)))


def _hit(conditions: tuple[Condition, ...], **request: object) -> bool:
    view = RequestView(**{"method": "GET", "path": "/", **request})  # type: ignore[arg-type]
    return match(_table(*conditions), view).rule == "r"


PATH = (Condition("path-pattern", ("/api/users*",)),)


@pytest.mark.parametrize(("path", "expected"), [
    ("/api/users", True), ("/api/users/7", True), ("/api/usersX", True),  # ALB's own caveat
    ("/API/users", False), ("/api/user", False), ("/v2/api/users", False)])
def test_path_pattern_is_case_sensitive_prefix_glob(path: str, expected: bool) -> None:
    assert _hit(PATH, path=path) is expected


def test_question_mark_is_exactly_one_character() -> None:
    cond = (Condition("path-pattern", ("/v?/x",)),)
    assert _hit(cond, path="/v1/x") and not _hit(cond, path="/v/x")
    assert not _hit(cond, path="/v12/x")


def test_query_string_is_not_part_of_the_path() -> None:
    exact = (Condition("path-pattern", ("/tea",)),)
    assert _hit(exact, path="/tea", query=(("a", "b"),))
    assert not _hit((Condition("path-pattern", ("/tea?a=b",)),), path="/tea",
                    query=(("a", "b"),))


def test_header_name_and_value_are_case_insensitive() -> None:
    cond = (Condition("http-header", ("MONOLITH",), header_name="x-backend"),)
    assert _hit(cond, headers=(("X-Backend", "monolith"),))
    assert not _hit(cond, headers=(("X-Backend", "services"),))
    assert not _hit(cond)


def test_host_header_ignores_case_and_port() -> None:
    cond = (Condition("host-header", ("*.Example.com",)),)
    assert _hit(cond, headers=(("Host", "api.example.COM:8080"),))
    assert not _hit(cond, headers=(("Host", "example.com"),))


def test_method_is_exact() -> None:
    cond = (Condition("http-request-method", ("POST", "PUT")),)
    assert _hit(cond, method="PUT") and not _hit(cond, method="GET")
    assert not _hit(cond, method="post")


def test_query_string_pairs_case_insensitive_with_wildcards() -> None:
    cond = (Condition("query-string", pairs=(QueryPair("Version", "2*"), QueryPair(None, "beta"))),)
    assert _hit(cond, query=(("version", "2.1"),))
    assert _hit(cond, query=(("anything", "BETA"),))
    assert not _hit(cond, query=(("version", "1"),))


def test_source_ip_is_a_cidr_of_the_peer() -> None:
    cond = (Condition("source-ip", ("10.0.0.0/8", "::1/128")),)
    assert _hit(cond, source_ip="10.1.2.3") and _hit(cond, source_ip="::1")
    assert not _hit(cond, source_ip="127.0.0.1")
    assert not _hit(cond, source_ip="127.0.0.1", headers=(("X-Forwarded-For", "10.0.0.1"),))


def test_all_conditions_must_match_and_lowest_priority_wins() -> None:
    table = RouteTable(
        target_groups=(TargetGroup("a", "http://x:1"),),
        rules=(Rule("late", 20, PATH, FixedResponse(201)),
               Rule("early", 10, (*PATH, Condition("http-request-method", ("POST",))),
                    FixedResponse(202))),
        default_action=FixedResponse(404))
    assert match(table, RequestView("POST", "/api/users")).rule == "early"
    assert match(table, RequestView("GET", "/api/users")).rule == "late"
    assert match(table, RequestView("GET", "/other")).rule == "default"


def test_weighted_choice_follows_weights_and_skips_zero() -> None:
    forward = Forward((("a", 1), ("b", 3), ("c", 0)))
    rng = random.Random(7)
    counts = Counter(choose_group(forward, rng) for _ in range(8000))
    assert counts["c"] == 0
    assert 1800 < counts["a"] < 2200


def test_sticky_group_kept_only_while_it_has_weight_and_is_usable() -> None:
    forward = Forward((("a", 1), ("b", 0), ("c", 1000)))
    rng = random.Random(1)
    assert all(choose_group(forward, rng, sticky="a") == "a" for _ in range(50))
    assert choose_group(forward, rng, sticky="b") != "b"
    assert choose_group(Forward((("a", 1), ("c", 999))), rng, sticky="a",
                        usable={"a": False, "c": True}) == "c"
