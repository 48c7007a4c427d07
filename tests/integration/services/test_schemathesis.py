"""Property-based runs of each app's OpenAPI document: no 5xx, responses conform to the schema.

In-process ASGI: schemathesis runs the app's lifespan itself (one pool, on the session's Redis).
Bounded: at most 50 examples per operation and mode. Driven through hypothesis directly, because
schemathesis' lazy pytest loader does not work with this pytest version (it reads `_nodeid`).
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
import schemathesis
from fastapi import FastAPI
from schemathesis.generation.modes import GenerationMode

from services.send.app import create_app as create_send_app
from services.verify.app import create_app as create_verify_app
from tests.integration.services.support import make_settings
from tests.support.schemathesis_runs import run_operations

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.negative_data_rejection,
]


def _call_and_validate(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)


def run_schema(app: FastAPI, mode: GenerationMode) -> list[str]:
    return run_operations(schemathesis.openapi.from_asgi("/openapi.json", app), mode,
                          _call_and_validate)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_send_service_conforms(
    redis_url: str, redis_client: redis.Redis, mode: GenerationMode
) -> None:
    app = create_send_app(make_settings(redis_url, resend_cooldown_seconds=0))
    tested = run_schema(app, mode)
    assert "POST /api/verifications" in tested
    if mode is GenerationMode.POSITIVE:
        assert {"GET /api/verifications/{verification_id}",
                "POST /api/verifications/{verification_id}/cancel"} <= set(tested)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_verify_service_conforms(
    redis_url: str, redis_client: redis.Redis, mode: GenerationMode
) -> None:
    tested = run_schema(create_verify_app(make_settings(redis_url)), mode)
    assert "POST /api/verification-checks" in tested
