"""What one benchmark run produces, as plain dataclasses that serialise to latest.json."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Target names, written once: the ratios and the plot look runs up by these.
REF_BARE = "ref-bare-asgi"
REF_EVALSHA = "ref-fastapi-evalsha"
MONOLITH_1W = "monolith-1w"
SERVICES = "services"
NGINX_SERVICES = "nginx->services"
GATEWAY_SERVICES = "gateway->services"
GATEWAY_MONOLITH = "gateway->monolith-1w"
SERVICES_FEW_PENDING = "services@1k-pending"  # measured right before the many-pending run...
SERVICES_FEW_PENDING_AFTER = "services@1k-pending-after"  # ...and right after it, for drift
SERVICES_MANY_PENDING = "services@many-pending"


def monolith_workers(workers: int) -> str:
    return f"monolith-{workers}w"


@dataclass(frozen=True)
class Run:
    """One wrk run of one workload against one target."""

    target: str
    workload: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_s_per_1k: float | None  # server processes (proxies included), children included
    redis_cpu_s_per_1k: float | None
    statuses: dict[str, int] = field(default_factory=dict)
    socket_errors: int = 0
    note: str = ""
    rps_samples: tuple[float, ...] = ()  # every repeat; the row is the median one

    @property
    def ok_share(self) -> float:
        total = sum(self.statuses.values())
        return sum(v for k, v in self.statuses.items() if k.startswith("2")) / total if total else 0


@dataclass(frozen=True)
class Goal:
    """A ratio or count and the goal it is held to; passed is None when not computed."""

    name: str
    value: float | None
    goal: str
    passed: bool | None
    detail: str = ""


@dataclass(frozen=True)
class Skipped:
    what: str
    why: str


@dataclass
class Report:
    meta: dict[str, Any] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    redis: dict[str, Any] = field(default_factory=dict)  # round trips, bytes per verification
    mixed: dict[str, Any] = field(default_factory=dict)
    # Bytes per pending verification as the bench's loader writes each storage version.
    memory: dict[str, Any] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)

    def find(self, target: str, workload: str) -> Run | None:
        return next((r for r in self.runs if r.target == target and r.workload == workload), None)
