"""`http-request-method`: exact, case-sensitive method names (no wildcards)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from routing.conditions.base import (
    Condition,
    Report,
    RequestView,
    ValueList,
    length_problem,
    read_strings,
)

METHOD = re.compile(r"[A-Z_-]{1,40}")


@dataclass(frozen=True)
class HttpRequestMethod(ValueList):
    values: tuple[str, ...]
    field: ClassVar[str] = "http-request-method"
    single_use: ClassVar[bool] = True
    api_config: ClassVar[str] = "HttpRequestMethodConfig"

    @classmethod
    def from_toml(cls, raw: Mapping[str, Any], report: Report) -> Self:
        return cls(read_strings(raw, "values", report))

    def wildcard_count(self) -> int:
        return 0  # `*` and `?` are no wildcards here (and no method has them)

    def value_problem(self, value: str) -> str | None:
        too_long = length_problem(value)
        if too_long is None and not METHOD.fullmatch(value):
            return f"{value!r} is not a method (A-Z, _ and - only)"
        return too_long

    def matches(self, request: RequestView) -> bool:
        return request.method in self.values

    def covers(self, narrower: Condition) -> bool:
        return isinstance(narrower, HttpRequestMethod) and set(narrower.values) <= set(
            self.values)

    def text(self) -> str:
        return f"method {' or '.join(self.values)}"
