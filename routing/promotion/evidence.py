"""What the gate judges: per target group counts over one bake window, and the verdicts.

Sources (the local gateway, CloudWatch) implement EvidenceSource; the gate (gate.py) turns a
window's evidence into a Verdict. No I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Outcome = Literal["pass", "fail", "inconclusive", "wait"]
"""pass: the step may advance; fail: roll back at once; inconclusive: the bake ended without
enough evidence, hold at this weight; wait: the bake goes on, nothing decided yet."""

Histogram = tuple[tuple[float, int], ...]
"""Latency buckets as Prometheus has them: (upper bound in seconds, cumulative count of
observations at or below it), ascending, the last bound math.inf (its count = all requests)."""


@dataclass(frozen=True)
class GroupWindow:
    """One target group's traffic on one rule over the window."""

    requests: int = 0
    errors: int = 0  # 5xx answers (the target's, or the front door's for that group)
    latency: Histogram | None = None  # when the source has a histogram (the gateway)
    p99_s: float | None = None  # when the source reports a percentile itself (CloudWatch)
    p50_s: float | None = None


Evidence = Mapping[str, GroupWindow]
"""{target group name: its window} for the groups of one rule's forward action."""


class EvidenceWindow(Protocol):
    def read(self) -> Evidence:
        """Everything since the window was opened (cumulative within the window)."""
        ...


class EvidenceSource(Protocol):
    def describe(self) -> str:
        """One line for the output: where the evidence comes from."""
        ...

    def open_window(self, rule: str) -> EvidenceWindow:
        """Start counting now for `rule` (called once the front door serves the step's
        weights)."""
        ...


@dataclass(frozen=True)
class Check:
    """One test of the gate with every number behind its decision."""

    name: str  # "errors" (sequential test), "error-ceiling", "latency", "sample"
    outcome: Outcome
    numbers: Mapping[str, float | int | str | None]
    detail: str  # one readable line, e.g. "verify 12/400 5xx (3.0%) vs baseline 1/3600; ..."


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    checks: tuple[Check, ...] = field(default_factory=tuple)
    reason: str = ""  # why, in one line (what is missing when inconclusive)

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "reason": self.reason,
                "checks": [{"name": c.name, "outcome": c.outcome, "numbers": dict(c.numbers),
                            "detail": c.detail} for c in self.checks]}
