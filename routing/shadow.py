"""Warnings (never errors) for rules that can never match because an earlier rule catches all.

Conservative: a warning means every request the later rule accepts is certainly accepted by the
earlier one. Overlaps it cannot prove are not reported.
"""

from __future__ import annotations

import ipaddress

from routing.model import Condition, QueryPair, RouteTable, Rule


def _pattern_covers(wide: str, narrow: str, ignore_case: bool) -> bool:
    """True when every string matched by `narrow` is matched by `wide` (simple, sound cases)."""
    if ignore_case:
        wide, narrow = wide.lower(), narrow.lower()
    if wide == narrow or wide == "*":
        return True
    if wide.endswith("*") and "*" not in wide[:-1] and "?" not in wide[:-1]:
        literal_prefix = narrow.split("*", 1)[0].split("?", 1)[0]
        return literal_prefix.startswith(wide[:-1])
    return False


def _pair_covers(wide: QueryPair, narrow: QueryPair) -> bool:
    key_ok = wide.key is None or (narrow.key is not None
                                  and _pattern_covers(wide.key, narrow.key, True))
    return key_ok and _pattern_covers(wide.value, narrow.value, True)


def _condition_covers(wide: Condition, narrow: Condition) -> bool:
    if wide.field != narrow.field:
        return False
    if wide.field == "http-header" and (wide.header_name or "").lower() != (
            narrow.header_name or "").lower():
        return False
    if wide.field == "query-string":
        return all(any(_pair_covers(w, n) for w in wide.pairs) for n in narrow.pairs)
    if wide.field == "http-request-method":
        return set(narrow.values) <= set(wide.values)
    if wide.field == "source-ip":
        nets = [ipaddress.ip_network(v) for v in wide.values]
        return all(any(_subnet(ipaddress.ip_network(n), w) for w in nets) for n in narrow.values)
    ignore_case = wide.field != "path-pattern"
    return all(any(_pattern_covers(w, n, ignore_case) for w in wide.values)
               for n in narrow.values)


def _subnet(narrow: ipaddress.IPv4Network | ipaddress.IPv6Network,
            wide: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    return narrow.version == wide.version and narrow.subnet_of(wide)  # type: ignore[arg-type]


def shadows(earlier: Rule, later: Rule) -> bool:
    """Every condition of `earlier` is implied by some condition of `later`."""
    return all(any(_condition_covers(e, n) for n in later.conditions) for e in earlier.conditions)


def shadow_warnings(table: RouteTable) -> list[str]:
    ordered = table.by_priority
    warnings = []
    for index, later in enumerate(ordered):
        for earlier in ordered[:index]:
            if shadows(earlier, later):
                warnings.append(f"rule {later.name!r} (priority {later.priority}) can never match:"
                                f" rule {earlier.name!r} (priority {earlier.priority}) catches"
                                " every request it would")
                break
    return warnings
