"""The services' logs are JSON lines (time, level, logger, message; trace_id while a request that
carried one is handled), in-process and as uvicorn runs them, uvicorn's own lines included."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
import redis

from devtools.components import local_spec
from devtools.processes import HttpReady, running
from devtools.redis_server import free_port
from infra.components import by_name
from tests.integration.services.support import make_settings, running_api
from tests.support.api_keys import shared_key, shared_keyring_file
from tests.support.json_logs import json_log_lines

TRACE = "Self=1-67891234-aaaaaaaaaaaaaaaaaaaaaaaa;Root=1-67891233-abcdef012345678912345678"


async def test_the_lines_logged_while_handling_a_request_carry_its_trace_id(
    redis_url: str, redis_client: redis.Redis, json_logs: None,
    capfd: pytest.CaptureFixture[str],
) -> None:
    async with running_api(redis_client, make_settings(redis_url)) as api:
        assert (await api.start(headers={"X-Amzn-Trace-Id": TRACE})).status_code == 201
        assert (await api.start(to="+14155550111")).status_code == 201
    sent = [e for e in json_log_lines(capfd.readouterr().err)
            if e["message"].startswith("send outcome=")]
    assert [(e["logger"], e.get("trace_id")) for e in sent] == [
        ("services.verification", TRACE), ("services.verification", None)]


def test_uvicorn_and_the_app_under_it_log_json_lines_without_an_access_log() -> None:
    env = {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens
           "KEYRING_FILE": shared_keyring_file()}
    spec = local_spec(by_name("send"), {"send": free_port()}, env)
    spec = dataclasses.replace(spec, ready=HttpReady(f"{spec.url}/healthz"))
    with running(spec, timeout=20) as process:
        response = httpx.post(f"{spec.url}/api/verifications", timeout=5,
                              json={"to": "+14155550100", "channel": "sms"},
                              headers={"X-Amzn-Trace-Id": TRACE, **shared_key().authorization})
        assert response.status_code == 503
        process.stop(timeout=15)
    entries = json_log_lines(process.tail(10_000))
    loggers = {e["logger"] for e in entries}
    assert "uvicorn.error" in loggers and "uvicorn.access" not in loggers
    assert any(e["message"] == "Application shutdown complete." for e in entries)
    [at_start] = [e for e in entries if e["message"].startswith("Redis not reachable at start")]
    assert at_start["level"] == "WARNING" and "trace_id" not in at_start
    [redis_down] = [e for e in entries if e["message"].startswith("redis unavailable")]
    assert redis_down["logger"] == "services.web" and redis_down["trace_id"] == TRACE
