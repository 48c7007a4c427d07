"""`http-header`: a named header (name and values case-insensitive); may repeat in a rule."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from routing.conditions.base import (
    Condition,
    Report,
    RequestView,
    TomlValue,
    ValueList,
    any_match,
    patterns_cover,
    read_string,
    read_strings,
)

HEADER_NAME = re.compile(r"[!#$%&'+.^_`|~0-9A-Za-z-]{1,40}")


@dataclass(frozen=True)
class HttpHeader(ValueList):
    name: str
    values: tuple[str, ...]
    field: ClassVar[str] = "http-header"
    single_use: ClassVar[bool] = False
    api_config: ClassVar[str] = "HttpHeaderConfig"

    @classmethod
    def from_toml(cls, raw: Mapping[str, Any], report: Report) -> Self:
        return cls(read_string(raw, "name", report), read_strings(raw, "values", report))

    def to_toml(self) -> dict[str, TomlValue]:
        return {"name": self.name, "values": list(self.values)}

    def problems(self) -> list[tuple[str, str]]:
        found = super().problems()
        if not HEADER_NAME.fullmatch(self.name):
            found.append(("name", f"{self.name!r} is not a header name "
                                  "(1..40 token characters, no wildcards)"))
        return found

    def matches(self, request: RequestView) -> bool:
        return any_match(self.values, request.header_values(self.name), ignore_case=True)

    def covers(self, narrower: Condition) -> bool:
        return (isinstance(narrower, HttpHeader) and self.name.lower() == narrower.name.lower()
                and patterns_cover(self.values, narrower.values, ignore_case=True))

    def text(self) -> str:
        return f"header {self.name}: {' or '.join(self.values)}"

    def api(self) -> dict[str, Any]:
        return {"Field": self.field, self.api_config: {"HttpHeaderName": self.name,
                                                       "Values": list(self.values)}}
