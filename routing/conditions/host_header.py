"""`host-header`: case-insensitive globs on the host name (a ":port" suffix is not compared)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from routing.conditions.base import (
    Condition,
    Report,
    RequestView,
    ValueList,
    any_match,
    patterns_cover,
    read_strings,
)


@dataclass(frozen=True)
class HostHeader(ValueList):
    values: tuple[str, ...]
    field: ClassVar[str] = "host-header"
    single_use: ClassVar[bool] = True
    api_config: ClassVar[str] = "HostHeaderConfig"

    @classmethod
    def from_toml(cls, raw: Mapping[str, Any], report: Report) -> Self:
        return cls(read_strings(raw, "values", report))

    def matches(self, request: RequestView) -> bool:
        return any_match(self.values, host_names(request), ignore_case=True)

    def covers(self, narrower: Condition) -> bool:
        return isinstance(narrower, HostHeader) and patterns_cover(
            self.values, narrower.values, ignore_case=True)


def host_names(request: RequestView) -> list[str]:
    """ALB compares the host name: drop a ":port" suffix, keeping IPv6 literals whole."""
    names = []
    for value in request.header_values("host"):
        if value.startswith("["):
            names.append(value[: value.find("]") + 1] if "]" in value else value)
        else:
            names.append(value.split(":", 1)[0])
    return names
