"""Rule evaluation and weighted choice, as the gateway applies them (per field: conditions/)."""

from __future__ import annotations

import random
from collections import Counter

from routing.conditions.base import RequestView
from routing.conditions.http_request_method import HttpRequestMethod
from routing.conditions.path_pattern import PathPattern
from routing.gateway.matcher import choose_group, match
from routing.table.model import FixedResponse, Forward, RouteTable, Rule, TargetGroup

PATH = (PathPattern(("/api/users*",)),)


def test_all_conditions_must_match_and_lowest_priority_wins() -> None:
    table = RouteTable(
        target_groups=(TargetGroup("a", "http://x:1"),),
        rules=(Rule("late", 20, PATH, FixedResponse(201)),
               Rule("early", 10, (*PATH, HttpRequestMethod(("POST",))),
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
