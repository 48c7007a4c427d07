"""A small valid raw table (as tomllib would return it) that tests bend into invalid shapes."""

from __future__ import annotations

import copy
from typing import Any

import pytest

BASE: dict[str, Any] = {
    "default_action": {"type": "forward", "weights": {"old": 1}},
    "target_groups": {"old": {"url": "http://127.0.0.1:9001"},
                      "new": {"url": "http://127.0.0.1:9002"}},
    "rules": [
        {"name": "users", "priority": 10,
         "conditions": [{"field": "path-pattern", "values": ["/api/users*"]}],
         "action": {"type": "forward", "weights": {"old": 75, "new": 25}}},
        {"name": "teapot", "priority": 20,
         "conditions": [{"field": "path-pattern", "values": ["/tea"]}],
         "action": {"type": "fixed-response", "status_code": 418, "content_type": "text/plain",
                    "body": "short and stout"}},
    ],
}


@pytest.fixture
def raw() -> dict[str, Any]:
    return copy.deepcopy(BASE)
