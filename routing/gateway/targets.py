"""A target group's registered targets: each with its own health, the choice of one per request
(round robin or least outstanding requests), and ALB's fail-open."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Target:
    url: str
    healthy: bool = True  # until proven otherwise, so a fresh gateway serves at once
    passes: int = 0
    failures: int = 0
    last_error: str | None = None
    last_checked: float | None = None
    outstanding: int = 0  # requests sent and not yet answered in full


@dataclass
class GroupTargets:
    name: str
    algorithm: str = "round_robin"
    targets: list[Target] = field(default_factory=list)
    _turn: Iterator[int] = field(default_factory=itertools.count, repr=False)

    @property
    def healthy(self) -> bool:
        return any(t.healthy for t in self.targets)

    @property
    def failing_open(self) -> bool:
        """Every target failed its health check: ALB then routes to them all anyway."""
        return bool(self.targets) and not self.healthy

    def choose(self) -> Target | None:
        """None when the group has no target at all (503). Unhealthy targets are skipped while
        any target is healthy; with none healthy, all of them take traffic (fail open)."""
        candidates = [t for t in self.targets if t.healthy] or self.targets
        if not candidates:
            return None
        turn = next(self._turn)
        if self.algorithm == "least_outstanding_requests":
            fewest = min(t.outstanding for t in candidates)
            candidates = [t for t in candidates if t.outstanding == fewest]
        return candidates[turn % len(candidates)]
