"""Prometheus counters of the dispatcher, in a registry of its own (built per process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
        self.delivery_seconds = Histogram(
            "dispatcher_delivery_seconds",
            "Time to hand one message to its channel (rate of the count: deliveries per second).",
            ["channel"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.unread = Gauge(
            "dispatcher_outbox_unread",
            "Jobs in the outbox no dispatcher has read yet (the lag), all streams.",
            registry=self.registry,
        )
        self.pending = Gauge(
            "dispatcher_outbox_pending",
            "Jobs read and not yet settled: being delivered, or waiting for a retry.",
            registry=self.registry,
        )
        self.oldest_unread_seconds = Gauge(
            "dispatcher_outbox_oldest_unread_seconds",
            "Age of the oldest job not read yet (0 when none): how far delivery is behind.",
            registry=self.registry,
        )
