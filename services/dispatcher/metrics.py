"""Prometheus counters of the dispatcher, in a registry of its own (built per process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class DispatchMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.jobs = Counter(
            "dispatcher_jobs_total",
            "Outbox jobs handled, by outcome (delivered, skipped, retry, dead_lettered).",
            ["outcome"],
            registry=self.registry,
        )
        self.redis_errors = Counter(
            "dispatcher_redis_errors_total",
            "Times the loop backed off because Redis could not be reached.",
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "dispatcher_deliveries_in_flight",
            "Deliveries started and not yet finished (at most DISPATCH_MAX_IN_FLIGHT).",
            registry=self.registry,
        )
