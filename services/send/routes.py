"""POST /api/verifications, GET /api/verifications/{id}, POST /api/verifications/{id}/cancel."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.verification.service import SEND_PATH
from services.web import schemas
from services.web.app_state import client_of, service_of, settings_of
from services.web.auth import requires
from services.web.client_ip import client_ip
from services.web.json_body import read_json_body
from services.web.problems import json_response
from services.web.raw_route import RawRoute

router = APIRouter(prefix=SEND_PATH, tags=["verifications"], route_class=RawRoute)

VERIFICATION_HEADERS: dict[str, Any] = {
    "Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]},
                            "description": "present when this is a replay"},
}


@router.post(
    "",
    status_code=201,
    response_model=schemas.Verification,
    summary="Start a verification, or resend the pending one's code",
    responses={
        201: {"description": "A new verification; its code is being delivered",
              "headers": {"Location": {"required": True, "schema": {"type": "string"}},
                          **VERIFICATION_HEADERS}},
        200: {"model": schemas.Verification, "headers": VERIFICATION_HEADERS,
              "description": "The pending verification's code was sent again"},
        **schemas.problem_responses(400, 401, 403, 413, 415, 422, 429, 500, 503),
    },
    openapi_extra={
        "requestBody": schemas.json_request_body(schemas.SEND_BODY),
        "parameters": [schemas.IDEMPOTENCY_KEY_PARAMETER],
    },
)
@requires("send")
async def start_verification(request: Request) -> Response:
    body = await read_json_body(request)
    peer = request.client.host if request.client else None
    trusted = settings_of(request).trusted_proxies
    started = await service_of(request).start(
        body,
        request.headers.get("idempotency-key"),
        client_ip(request.headers.getlist("x-forwarded-for"), peer, trusted),
        client_of(request),
    )
    headers: dict[str, str] = {}
    if started.http_status == 201:
        headers["Location"] = f"{SEND_PATH}/{started.body['id']}"
    if started.replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(started.body, started.http_status, headers)


@router.get(
    "/{verification_id}",
    response_model=schemas.Verification,
    summary="Read a verification",
    responses=schemas.problem_responses(401, 403, 404, 500, 503),
)
@requires("read")
async def read_verification(request: Request, verification_id: str) -> Response:
    return json_response(await service_of(request).read(verification_id, client_of(request)))


@router.post(
    "/{verification_id}/cancel",
    response_model=schemas.Verification,
    summary="Cancel a pending verification (a request body, if any, is ignored)",
    responses=schemas.problem_responses(401, 403, 404, 409, 413, 500, 503),
)
@requires("cancel")
async def cancel_verification(request: Request, verification_id: str) -> Response:
    return json_response(await service_of(request).cancel(verification_id, client_of(request)))
