"""POST /api/verification-checks."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.web import schemas
from services.web.app_state import client_of, service_of
from services.web.auth import requires
from services.web.json_body import read_json_body
from services.web.problems import json_response
from services.web.raw_route import RawRoute

router = APIRouter(tags=["verification checks"], route_class=RawRoute)


@router.post(
    "/api/verification-checks",
    response_model=schemas.CheckResult,
    summary="Check a code, by verification id or by destination",
    responses=schemas.problem_responses(400, 401, 403, 404, 413, 415, 429, 500, 503),
    openapi_extra={"requestBody": schemas.json_request_body(schemas.CHECK_BODY)},
)
@requires("check")
async def check_code(request: Request) -> Response:
    body = await read_json_body(request)
    return json_response(await service_of(request).check(body, client_of(request)))
