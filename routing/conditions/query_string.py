"""`query-string`: key/value pairs (case-insensitive, `*` and `?`); a pair may omit the key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from routing.conditions.base import (
    MAX_VALUE_LENGTH,
    Condition,
    Report,
    RequestView,
    TomlValue,
    pattern_covers,
    wildcard_regex,
    wildcards,
)


@dataclass(frozen=True)
class QueryPair:
    key: str | None  # None: any key
    value: str

    def to_toml(self) -> TomlValue:
        entry: dict[str, TomlValue] = {} if self.key is None else {"key": self.key}
        return entry | {"value": self.value}

    def covers(self, narrow: QueryPair) -> bool:
        key_ok = self.key is None or (narrow.key is not None
                                      and pattern_covers(self.key, narrow.key, True))
        return key_ok and pattern_covers(self.value, narrow.value, True)


@dataclass(frozen=True)
class QueryString:
    pairs: tuple[QueryPair, ...]
    field: ClassVar[str] = "query-string"
    single_use: ClassVar[bool] = False

    @classmethod
    def from_toml(cls, raw: Mapping[str, Any], report: Report) -> Self | None:
        items = raw.get("values")
        if not isinstance(items, list):
            report("values", "must be a list of { key, value } tables")
            return None
        pairs: list[QueryPair] = []
        for i, item in enumerate(items):
            key, value = (item.get("key"), item.get("value")) if isinstance(item, dict) \
                else (None, None)
            if not isinstance(value, str) or not (key is None or isinstance(key, str)):
                report(f"values[{i}]", "needs a string value and optional key")
                continue
            pairs.append(QueryPair(key, value))
        return cls(tuple(pairs))

    def to_toml(self) -> dict[str, TomlValue]:
        return {"values": [p.to_toml() for p in self.pairs]}

    def value_count(self) -> int:
        return len(self.pairs)

    def wildcard_count(self) -> int:
        return sum(wildcards(p.value + (p.key or "")) for p in self.pairs)

    def problems(self) -> list[tuple[str, str]]:
        return [(f"values[{i}]", f"key and value must be at most {MAX_VALUE_LENGTH} characters"
                                 " and the value not empty")
                for i, pair in enumerate(self.pairs)
                if not 0 < len(pair.value) <= MAX_VALUE_LENGTH
                or len(pair.key or "") > MAX_VALUE_LENGTH]

    def matches(self, request: RequestView) -> bool:
        return any(
            wildcard_regex(pair.value, True).fullmatch(value)
            and (pair.key is None or wildcard_regex(pair.key, True).fullmatch(key))
            for pair in self.pairs for key, value in request.query)

    def covers(self, narrower: Condition) -> bool:
        return isinstance(narrower, QueryString) and all(
            any(w.covers(n) for w in self.pairs) for n in narrower.pairs)

    def text(self) -> str:
        return "query " + " or ".join(f"{p.key}={p.value}" if p.key else f"*={p.value}"
                                      for p in self.pairs)

    def api(self) -> dict[str, Any]:
        return {"Field": self.field, "QueryStringConfig": {"Values": [
            ({"Key": p.key} if p.key else {}) | {"Value": p.value} for p in self.pairs]}}
