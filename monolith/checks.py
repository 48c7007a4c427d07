"""POST /api/verification-checks."""

from __future__ import annotations

from flask import Blueprint, Response, g

from monolith import store
from monolith.extensions import backend
from monolith.metrics import CHECKS
from monolith.problems import Problem
from monolith.rendering import render_check
from monolith.validation import parse_check
from monolith.web import json_response, read_json_body

bp = Blueprint("checks", __name__)


@bp.post("/api/verification-checks", provide_automatic_options=False)
def check_code() -> Response:
    ctx = backend()
    check_request = parse_check(read_json_body(ctx.settings.max_body_bytes))
    result = store.check(
        ctx.redis, ctx.scripts, ctx.settings, ctx.keyring, g.client, check_request
    )
    CHECKS.labels(outcome=result.outcome).inc()
    if result.outcome not in ("approved", "wrong"):
        raise Problem(result.outcome, retry_after_ms=result.retry_after_ms or None)
    body = render_check(
        result.verification_id, result.to, result.channel, result.status,
        result.check_attempts, ctx.settings.max_checks,
    )
    return json_response(body)
