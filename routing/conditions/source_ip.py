"""`source-ip`: CIDR blocks against the connection's peer (never X-Forwarded-For)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from routing.conditions.base import Condition, Report, RequestView, ValueList, read_strings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class SourceIp(ValueList):
    values: tuple[str, ...]
    field: ClassVar[str] = "source-ip"
    single_use: ClassVar[bool] = True
    api_config: ClassVar[str] = "SourceIpConfig"

    @classmethod
    def from_toml(cls, raw: Mapping[str, Any], report: Report) -> Self:
        return cls(read_strings(raw, "values", report))

    def wildcard_count(self) -> int:
        return 0

    def value_problem(self, value: str) -> str | None:
        try:
            ipaddress.ip_network(value, strict=True)
        except ValueError:
            return f"{value!r} is not a CIDR block like 10.0.0.0/8"
        return None

    def matches(self, request: RequestView) -> bool:
        try:
            address = ipaddress.ip_address(request.source_ip)
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(v) for v in self.values)

    def covers(self, narrower: Condition) -> bool:
        if not isinstance(narrower, SourceIp):
            return False
        wide = [ipaddress.ip_network(v) for v in self.values]
        return all(any(_subnet(ipaddress.ip_network(n), w) for w in wide)
                   for n in narrower.values)


def _subnet(narrow: Network, wide: Network) -> bool:
    return narrow.version == wide.version and narrow.subnet_of(wide)  # type: ignore[arg-type]
