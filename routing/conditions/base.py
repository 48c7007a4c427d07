"""What every condition field implements (the Condition protocol) and the helpers they share.

A field module holds all of one field's semantics: reading and writing it in the TOML table,
ALB's checks, matching a request, proving one condition covers another (shadowing warnings),
its human text and its ALB API shape (CreateRule's `Conditions[]` entry).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar, Protocol, Self

MAX_VALUE_LENGTH = 128
"""ALB's limit on one condition value (and on a redirect's host, path and query)."""

Report = Callable[[str, str], None]
"""Called with (field inside the condition, e.g. "values[1]", message) for each shape problem."""

TomlValue = str | int | list["TomlValue"] | dict[str, "TomlValue"]


@dataclass(frozen=True)
class RequestView:
    """What ALB conditions can see of a request."""

    method: str
    path: str  # the path only, never the query string
    headers: tuple[tuple[str, str], ...] = ()  # (name, value), names in any case
    query: tuple[tuple[str, str], ...] = ()  # decoded (key, value) pairs in order
    source_ip: str = "127.0.0.1"

    def header_values(self, name: str) -> list[str]:
        wanted = name.lower()
        return [v for k, v in self.headers if k.lower() == wanted]


class Condition(Protocol):
    """One ALB condition of a rule; its values are alternatives (any one matching is enough)."""

    field: ClassVar[str]  # ALB's name for it, e.g. "path-pattern"
    single_use: ClassVar[bool]  # ALB allows at most one condition of this field per rule

    @classmethod
    def from_toml(cls, raw: Mapping[str, Any], report: Report) -> Self | None:
        """Read the table's inline table (its `field` already checked); None if unusable."""

    def to_toml(self) -> dict[str, TomlValue]:
        """The inline table's entries after `field`, in the order the file shows them."""

    def value_count(self) -> int:
        """How many values this condition spends of ALB's 5 per rule."""

    def wildcard_count(self) -> int:
        """How many of ALB's 5 wildcards per rule this condition spends."""

    def problems(self) -> list[tuple[str, str]]:
        """What ALB would refuse, as (field inside the condition, message)."""

    def matches(self, request: RequestView) -> bool: ...

    def covers(self, narrower: Condition) -> bool:
        """True only when every request `narrower` accepts is certainly accepted by this one."""

    def text(self) -> str:
        """Short human text for `routing show` and the status page."""

    def api(self) -> dict[str, Any]:
        """The ALB API's (and CloudFormation's) condition: {"Field": ..., "<Kind>Config": ...}."""


class ValueList:
    """Shared by the fields whose condition is a list of strings (all but query-string)."""

    field: ClassVar[str]
    api_config: ClassVar[str]  # the ALB API's config key, e.g. "PathPatternConfig"
    values: tuple[str, ...]

    def to_toml(self) -> dict[str, TomlValue]:
        return {"values": list(self.values)}

    def value_count(self) -> int:
        return len(self.values)

    def wildcard_count(self) -> int:
        return sum(wildcards(v) for v in self.values)

    def value_problem(self, value: str) -> str | None:
        return length_problem(value)

    def problems(self) -> list[tuple[str, str]]:
        found = ((f"values[{i}]", self.value_problem(v)) for i, v in enumerate(self.values))
        return [(at, message) for at, message in found if message is not None]

    def text(self) -> str:
        return f"{self.field} {' or '.join(self.values)}"

    def api(self) -> dict[str, Any]:
        return self.api_of(list(self.values))

    @classmethod
    def api_of(cls, values: object) -> dict[str, Any]:
        """The API shape for values given some other way, e.g. a stack parameter (Fn::Split)."""
        return {"Field": cls.field, cls.api_config: {"Values": values}}


def read_strings(raw: Mapping[str, Any], key: str, report: Report) -> tuple[str, ...]:
    value = raw.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        report(key, "must be a list of strings")
        return ()
    return tuple(value)


def read_string(raw: Mapping[str, Any], key: str, report: Report) -> str:
    value = raw.get(key)
    if not isinstance(value, str):
        report(key, "must be a string")
        return ""
    return value


def length_problem(value: str) -> str | None:
    if not 0 < len(value) <= MAX_VALUE_LENGTH:
        return f"must be 1..{MAX_VALUE_LENGTH} characters"
    return None


def wildcards(text: str) -> int:
    return text.count("*") + text.count("?")


@lru_cache(maxsize=4096)
def wildcard_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """`*` is zero or more characters, `?` exactly one; everything else literal."""
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def any_match(patterns: Iterable[str], candidates: Iterable[str], ignore_case: bool) -> bool:
    texts = list(candidates)
    return any(wildcard_regex(p, ignore_case).fullmatch(t) for p in patterns for t in texts)


def pattern_covers(wide: str, narrow: str, ignore_case: bool) -> bool:
    """True when every string matched by `narrow` is matched by `wide` (simple, sound cases)."""
    if ignore_case:
        wide, narrow = wide.lower(), narrow.lower()
    if wide == narrow or wide == "*":
        return True
    if wide.endswith("*") and "*" not in wide[:-1] and "?" not in wide[:-1]:
        literal_prefix = narrow.split("*", 1)[0].split("?", 1)[0]
        return literal_prefix.startswith(wide[:-1])
    return False


def patterns_cover(wide: Iterable[str], narrow: Iterable[str], ignore_case: bool) -> bool:
    """Every narrow alternative is covered by some wide one."""
    alternatives = list(wide)
    return all(any(pattern_covers(w, n, ignore_case) for w in alternatives) for n in narrow)
