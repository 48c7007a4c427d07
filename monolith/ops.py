"""GET /healthz, /readyz, /metrics and the hand-written /openapi.json."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response

from monolith.extensions import ANY_REDIS_ERROR, backend
from monolith.metrics import exposition
from monolith.problems import Problem
from monolith.web import json_response

bp = Blueprint("ops", __name__)
OPENAPI = Path(__file__).resolve().parent / "openapi.json"


@bp.get("/healthz", provide_automatic_options=False)
def healthz() -> Response:
    return json_response({"status": "ok"})


@bp.get("/readyz", provide_automatic_options=False)
def readyz() -> Response:
    # Any error answer (protected mode, a missing ACL permission) means not ready, not a 500.
    try:
        ready = backend().redis.ping()
    except ANY_REDIS_ERROR:
        ready = False
    if not ready:
        raise Problem("service_unavailable", retry_after_ms=1000)
    return json_response({"status": "ready"})


@bp.get("/metrics", provide_automatic_options=False)
def metrics() -> Response:
    payload, content_type = exposition()
    return Response(payload, content_type=content_type)


@bp.get("/openapi.json", provide_automatic_options=False)
def openapi() -> Response:
    return Response(OPENAPI.read_bytes(), mimetype="application/json")
