"""`path-pattern`: case-sensitive globs on the path only."""

from __future__ import annotations

from typing import Any

import pytest

from routing.conditions.path_pattern import PathPattern

from .helpers import assert_refused, hit

PATH = (PathPattern(("/api/users*",)),)


@pytest.mark.parametrize(("path", "expected"), [
    ("/api/users", True), ("/api/users/7", True), ("/api/usersX", True),  # ALB's own caveat
    ("/API/users", False), ("/api/user", False), ("/v2/api/users", False)])
def test_path_pattern_is_case_sensitive_prefix_glob(path: str, expected: bool) -> None:
    assert hit(PATH, path=path) is expected


def test_question_mark_is_exactly_one_character() -> None:
    cond = (PathPattern(("/v?/x",)),)
    assert hit(cond, path="/v1/x") and not hit(cond, path="/v/x")
    assert not hit(cond, path="/v12/x")


def test_query_string_is_not_part_of_the_path() -> None:
    exact = (PathPattern(("/tea",)),)
    assert hit(exact, path="/tea", query=(("a", "b"),))
    assert not hit((PathPattern(("/tea?a=b",)),), path="/tea", query=(("a", "b"),))


@pytest.mark.parametrize("value", ["/api/a b", "/api/%20", "/" + "a" * 128],
                         ids=["path char", "path percent", "path too long"])
def test_refused_values(raw: dict[str, Any], value: str) -> None:
    assert_refused(raw, {"field": "path-pattern", "values": [value]}, "conditions[0].values[0]")
