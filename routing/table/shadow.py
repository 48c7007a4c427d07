"""Warnings (never errors) for rules that can never match because an earlier rule catches all.

Conservative: a warning means every request the later rule accepts is certainly accepted by the
earlier one (each field proves coverage in its own `covers`). Overlaps it cannot prove are not
reported.
"""

from __future__ import annotations

from routing.table.model import RouteTable, Rule


def shadows(earlier: Rule, later: Rule) -> bool:
    """Every condition of `earlier` is implied by some condition of `later`."""
    return all(any(e.covers(n) for n in later.conditions) for e in earlier.conditions)


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
