"""Prometheus counters; under gunicorn they aggregate across workers (multiprocess mode).

prometheus_client picks its multiprocess value class when first imported, so gunicorn_conf sets
PROMETHEUS_MULTIPROC_DIR before anything imports this module.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "monolith_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
SENDS = Counter("monolith_sends_total", "POST /api/verifications by outcome", ["outcome"])
CHECKS = Counter("monolith_checks_total", "POST /api/verification-checks by outcome", ["outcome"])


def exposition() -> tuple[bytes, str]:
    """The text format over every worker when in multiprocess mode, else this process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
