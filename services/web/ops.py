"""/healthz, /readyz, /metrics and the per-request metrics (one registry per app, not global;
recorded by edge.EdgeMiddleware)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from pydantic import BaseModel
from starlette.responses import Response

from services.verification import redis_client
from services.web.problems import json_response, problem_response
from services.web.schemas import problem_responses


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests", "HTTP requests answered", ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds", "Time to answer", ["method", "route"],
            registry=self.registry,
        )
        # Labelled children by label values: `labels()` validates and locks on every call.
        self._answered: dict[tuple[str, str, int], Counter] = {}
        self._timed: dict[tuple[str, str], Histogram] = {}

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        answered = self._answered.get((method, route, status))
        if answered is None:
            answered = self.requests.labels(method, route, str(status))
            self._answered[(method, route, status)] = answered
        timed = self._timed.get((method, route))
        if timed is None:
            timed = self._timed[(method, route)] = self.latency.labels(method, route)
        answered.inc()
        timed.observe(seconds)


router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]


@router.get("/healthz", summary="The process runs", response_model=Health)
async def healthz() -> Response:
    return json_response({"status": "ok"})


@router.get(
    "/readyz",
    summary="Redis answers PING",
    response_model=Readiness,
    responses=problem_responses(503),
)
async def readyz(request: Request) -> Response:
    try:
        await request.app.state.store.ping()
    except redis_client.ANY_REDIS_ERROR:
        return problem_response("service_unavailable")
    return json_response({"status": "ready"})


@router.get(
    "/metrics",
    summary="Prometheus text format",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
                     "description": "Prometheus exposition"}},
)
async def metrics(request: Request) -> Response:
    registry: CollectorRegistry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
