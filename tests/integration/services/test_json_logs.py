"""The services' logs are JSON lines (time, level, logger, message; trace_id while a request that
carried one is handled), in-process and as uvicorn runs them, uvicorn's own lines included."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import redis

from devtools.components import uvicorn_component
from devtools.redis_server import free_port
from tests.integration.services.support import make_settings, running_api
from tests.support.json_logs import json_log_lines

ROOT = Path(__file__).resolve().parents[3]
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
    port = free_port()
    env = {**os.environ, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}  # nothing listens
    argv = uvicorn_component("send", "services.send.app:create_app", port, {}).argv
    process = subprocess.Popen(argv, cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.1)
        response = httpx.post(f"{url}/api/verifications", timeout=5,
                              json={"to": "+14155550100", "channel": "sms"},
                              headers={"X-Amzn-Trace-Id": TRACE})
        assert response.status_code == 503
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=15)
    entries = json_log_lines(stdout + stderr)
    loggers = {e["logger"] for e in entries}
    assert "uvicorn.error" in loggers and "uvicorn.access" not in loggers
    assert any(e["message"] == "Application shutdown complete." for e in entries)
    [at_start] = [e for e in entries if e["message"].startswith("Redis not reachable at start")]
    assert at_start["level"] == "WARNING" and "trace_id" not in at_start
    [redis_down] = [e for e in entries if e["message"].startswith("redis unavailable")]
    assert redis_down["logger"] == "services.web" and redis_down["trace_id"] == TRACE
