"""`path-pattern`: case-sensitive globs on the path only (never the query string)."""

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
    any_match,
    length_problem,
    patterns_cover,
    read_strings,
)

ALLOWED = re.compile(r"[A-Za-z0-9_\-.$/~\"'@:+&*?]+")


@dataclass(frozen=True)
class PathPattern(ValueList):
    values: tuple[str, ...]
    field: ClassVar[str] = "path-pattern"
    single_use: ClassVar[bool] = True
    api_config: ClassVar[str] = "PathPatternConfig"

    @classmethod
    def from_toml(cls, raw: Mapping[str, Any], report: Report) -> Self:
        return cls(read_strings(raw, "values", report))

    def value_problem(self, value: str) -> str | None:
        too_long = length_problem(value)
        if too_long is None and not ALLOWED.fullmatch(value):
            return (f"{value!r} has characters ALB path patterns refuse "
                    "(allowed: A-Z a-z 0-9 _ - . $ / ~ \" ' @ : + & * ?)")
        return too_long

    def matches(self, request: RequestView) -> bool:
        return any_match(self.values, [request.path], ignore_case=False)

    def covers(self, narrower: Condition) -> bool:
        return isinstance(narrower, PathPattern) and patterns_cover(
            self.values, narrower.values, ignore_case=False)

    def text(self) -> str:
        return f"path {' or '.join(self.values)}"
