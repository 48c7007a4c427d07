"""The monolith's logs are JSON lines (time, level, logger, message; trace_id while a request that
carried one is handled; exc_info as a string), from the app, from gunicorn itself and from the
events consumer, as each runs."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from flask import Flask

from devtools.redis_server import free_port
from tests.support.json_logs import json_log_lines

ROOT = Path(__file__).resolve().parents[3]
GUNICORN = Path(sys.executable).parent / "gunicorn"
TRACE = "Self=1-67891234-aaaaaaaaaaaaaaaaaaaaaaaa;Root=1-67891233-abcdef012345678912345678"


def test_the_lines_logged_while_handling_a_request_carry_its_trace_id(
    make_app: Callable[..., Flask], json_logs: None, capfd: pytest.CaptureFixture[str],
) -> None:
    app = make_app()

    @app.get("/boom")
    def boom() -> Any:
        try:
            raise KeyError("inner")
        except KeyError:
            logging.getLogger("monolith.users").warning("retrying", exc_info=True)
        raise RuntimeError("outer")

    assert app.test_client().get("/boom", headers={"X-Amzn-Trace-Id": TRACE}).status_code == 500
    logging.getLogger("monolith").info("between requests")
    assert app.test_client().get("/boom").status_code == 500

    entries = json_log_lines(capfd.readouterr().err)
    warned = [e for e in entries if e["message"] == "retrying"]
    failed = [e for e in entries if e["message"].startswith("unexpected RuntimeError")]
    [between] = [e for e in entries if e["message"] == "between requests"]
    assert [e.get("trace_id") for e in warned] == [TRACE, None]
    assert [e.get("trace_id") for e in failed] == [TRACE, None]
    assert "trace_id" not in between
    assert warned[0]["level"] == "WARNING" and warned[0]["logger"] == "monolith.users"
    assert "KeyError: 'inner'" in warned[0]["exc_info"]
    assert failed[0]["level"] == "ERROR" and "exc_info" not in failed[0]


def test_gunicorn_and_the_app_under_it_log_json_lines_without_an_access_log() -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env |= {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}  # nothing listens: 503s, logged
    process = subprocess.Popen(
        [str(GUNICORN), "--config", "python:monolith.gunicorn_conf", "--bind",
         f"127.0.0.1:{port}", "--workers", "1", "monolith:create_app()"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)
        response = httpx.post(f"{url}/api/verifications", timeout=5,
                              json={"to": "+14155550100", "channel": "sms"},
                              headers={"X-Amzn-Trace-Id": TRACE})
        assert response.status_code == 503
    finally:
        process.terminate()
        stdout, stderr = process.communicate(timeout=15)
    assert process.returncode == 0
    entries = json_log_lines(stdout + stderr)
    loggers = {e["logger"] for e in entries}
    assert "gunicorn.error" in loggers and "gunicorn.access" not in loggers
    assert any(e["message"].startswith("Booting worker") for e in entries)
    [redis_down] = [e for e in entries if e["logger"] == "monolith"]
    assert redis_down["level"] == "WARNING" and redis_down["trace_id"] == TRACE
    assert redis_down["message"].startswith("Redis unavailable on POST /api/verifications")


def test_the_events_consumer_logs_json_lines(redis_url: str, redis_client: redis.Redis) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "monolith.events"], cwd=ROOT, text=True,
        env={**os.environ, "REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        assert process.stderr is not None
        first = process.stderr.readline()  # blocks until it consumes (or exits: "")
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, rest = process.communicate(timeout=15)
    assert process.returncode == 0
    entries = json_log_lines(stdout + first + rest)
    assert entries[0]["logger"] == "monolith.events"
    assert entries[0]["message"].startswith("consuming vfy:events")
    assert entries[-1]["message"] == "stopped after 0 event(s)"
