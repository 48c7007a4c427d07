"""`http-request-method`: exact and case-sensitive."""

from __future__ import annotations

from typing import Any

from routing.conditions.http_request_method import HttpRequestMethod

from .helpers import assert_refused, hit, shadow_count


def test_method_is_exact() -> None:
    cond = (HttpRequestMethod(("POST", "PUT")),)
    assert hit(cond, method="PUT") and not hit(cond, method="GET")
    assert not hit(cond, method="post")


def test_lowercase_method_is_refused(raw: dict[str, Any]) -> None:
    assert_refused(raw, {"field": "http-request-method", "values": ["get"]},
                   "conditions[0].values[0]")


def test_more_methods_cover_fewer() -> None:
    assert shadow_count(HttpRequestMethod(("GET", "PUT")), HttpRequestMethod(("PUT",))) == 1
    assert shadow_count(HttpRequestMethod(("PUT",)), HttpRequestMethod(("GET", "PUT"))) == 0
