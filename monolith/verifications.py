"""POST /api/verifications, GET /api/verifications/<id>, POST /api/verifications/<id>/cancel."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, request

from monolith import store
from monolith.client_ip import resolve_client_ip
from monolith.extensions import backend
from monolith.metrics import SENDS
from monolith.problems import Problem
from monolith.rendering import render_verification
from monolith.validation import (
    VERIFICATION_ID,
    SendRequest,
    check_sms_destination,
    parse_idempotency_key,
    parse_send,
)
from monolith.web import json_response, read_json_body

bp = Blueprint("verifications", __name__)
COLLECTION = "/api/verifications"


def _location(verification_id: str) -> str:
    return f"{COLLECTION}/{verification_id}"


@bp.post(COLLECTION, provide_automatic_options=False)
def start_verification() -> Response:
    body = read_json_body(backend().settings.max_body_bytes)
    return send_response(send_verification(parse_send(body), COLLECTION, body))


def send_verification(
    send_request: SendRequest, path: str, body: Any, destination_field: str = "to"
) -> store.SendResult:
    """The send path of every endpoint that starts a verification (this one and the users
    area's): the Idempotency-Key, the SMS number rules, the client IP, then the send script.
    A refusal is raised as its problem; `path` and `body` make the idempotency request hash."""
    ctx = backend()
    settings = ctx.settings
    idempotency_key = parse_idempotency_key(request.headers.get("Idempotency-Key"))
    check_sms_destination(send_request, settings.sms_countries, destination_field)
    idempotency = None
    if idempotency_key is not None:
        idempotency = (idempotency_key, ctx.keyring.request_hash("POST", path, body))
    client_ip = resolve_client_ip(
        request.headers.getlist("X-Forwarded-For"), request.remote_addr, settings.trusted_proxies
    )
    result = store.send(
        ctx.redis, ctx.scripts, settings, ctx.keyring, g.client, send_request, client_ip,
        idempotency,
    )
    SENDS.labels(outcome=result.outcome).inc()
    if result.record is None:
        raise Problem(result.outcome, retry_after_ms=result.retry_after_ms or None)
    return result


def send_response(result: store.SendResult) -> Response:
    """201 with Location, 200 for a resend, or the replayed status (docs/api.md)."""
    assert result.record is not None
    headers = {}
    if result.status == 201:
        headers["Location"] = _location(str(result.record["id"]))
    if result.outcome == "replay":
        headers["Idempotent-Replayed"] = "true"
    return json_response(render_verification(result.record), result.status, headers)


def _known_id(verification_id: str) -> str:
    if not VERIFICATION_ID.fullmatch(verification_id):
        raise Problem("not_found")
    return verification_id


@bp.get(f"{COLLECTION}/<verification_id>", provide_automatic_options=False)
def get_verification(verification_id: str) -> Response:
    ctx = backend()
    found = store.read(
        ctx.redis, ctx.scripts, ctx.settings, g.client, _known_id(verification_id)
    )
    if found is None:
        raise Problem("not_found")
    record, now_ms = found
    return json_response(render_verification(record, now_ms))


@bp.post(f"{COLLECTION}/<verification_id>/cancel", provide_automatic_options=False)
def cancel_verification(verification_id: str) -> Response:
    ctx = backend()
    outcome, record = store.cancel(
        ctx.redis, ctx.scripts, ctx.settings, g.client, _known_id(verification_id)
    )
    if outcome != "canceled":
        raise Problem(outcome)
    return json_response(render_verification(record))
