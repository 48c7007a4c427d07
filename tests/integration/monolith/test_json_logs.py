"""The monolith's logs are JSON lines (time, level, logger, message; trace_id while a request that
carried one is handled; exc_info as a string), from the app, from gunicorn itself and from the
events consumer, as each runs."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import redis
from flask import Flask

from devtools.components import local_spec
from devtools.processes import HttpReady, running
from devtools.redis_server import cluster_mode, free_port
from infra.components import by_name
from tests.support.api_keys import shared_key, shared_keyring_file
from tests.support.json_logs import json_log_lines

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
    env = {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens: 503s, logged
           "REDIS_CLUSTER": "",  # a node's client: it starts without Redis (a cluster's would not)
           "PROMETHEUS_MULTIPROC_DIR": "",  # gunicorn_conf makes its own
           "KEYRING_FILE": shared_keyring_file()}
    spec = local_spec(by_name("monolith"), {"monolith": free_port()}, env, workers=1)
    spec = dataclasses.replace(spec, ready=HttpReady(f"{spec.url}/healthz"))
    with running(spec, timeout=20) as process:
        response = httpx.post(f"{spec.url}/api/verifications", timeout=5,
                              json={"to": "+14155550100", "channel": "sms"},
                              headers={"X-Amzn-Trace-Id": TRACE, **shared_key().authorization})
        assert response.status_code == 503
        assert process.stop(timeout=15) == 0
    entries = json_log_lines(process.tail(10_000))
    loggers = {e["logger"] for e in entries}
    assert "gunicorn.error" in loggers and "gunicorn.access" not in loggers
    assert any(e["message"].startswith("Booting worker") for e in entries)
    [redis_down] = [e for e in entries if e["logger"] == "monolith"]
    assert redis_down["level"] == "WARNING" and redis_down["trace_id"] == TRACE
    assert redis_down["message"].startswith("Redis unavailable on POST /api/verifications")


def test_the_events_consumer_logs_json_lines(redis_url: str, redis_client: redis.Redis) -> None:
    env = {"REDIS_URL": redis_url, "REDIS_CLUSTER": "1" if cluster_mode() else "",
           "PYTHONUNBUFFERED": "1"}
    # what it consumes: the buckets, and vfy:events beside them where version-2 data can exist
    consuming = ("consuming the 64 vfy3:{b…}:events buckets" if cluster_mode() else
                 "consuming vfy:events and the 64 vfy3:{b…}:events buckets")
    spec = local_spec(by_name("events"), {}, env)
    with running(spec) as process:
        # Its SIGTERM handler is installed before it logs "consuming": stop only after that line.
        deadline = time.monotonic() + 15
        while consuming not in process.tail(10_000):
            assert time.monotonic() < deadline, process.tail(2_000)
            time.sleep(0.05)
        assert process.stop(timeout=15) == 0
    entries = json_log_lines(process.tail(10_000))
    assert entries[0]["logger"] == "monolith.events"
    assert entries[0]["message"].startswith(consuming)
    assert entries[-1]["message"] == "stopped after 0 event(s)"
