"""The process command of the brief: gunicorn with two workers, metrics summed over both."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from devtools.redis_server import free_port

ROOT = Path(__file__).resolve().parents[3]
GUNICORN = Path(sys.executable).parent / "gunicorn"


@pytest.fixture
def gunicorn_url(redis_url: str, redis_client: redis.Redis) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env |= {"REDIS_URL": redis_url, "VERIFY_RESEND_COOLDOWN_SECONDS": "0"}
    process = subprocess.Popen(
        [str(GUNICORN), "--config", "python:monolith.gunicorn_conf", "--bind",
         f"127.0.0.1:{port}", "--workers", "2", "monolith:create_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"gunicorn did not start: {process.communicate()[1][-2000:]}")
        time.sleep(0.1)
    yield url
    process.terminate()
    assert process.wait(timeout=15) == 0


def test_gunicorn_serves_and_aggregates_metrics_over_workers(gunicorn_url: str) -> None:
    sends = 12
    with httpx.Client(base_url=gunicorn_url, timeout=5) as http:
        for n in range(sends):
            # a new connection each time, so both workers get a share
            response = httpx.post(f"{gunicorn_url}/api/verifications",
                                  json={"to": f"+1415555{n:04d}", "channel": "sms"}, timeout=5)
            assert response.status_code == 201
        assert http.get("/readyz").json() == {"status": "ready"}
        text = http.get("/metrics").text
    total = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith('monolith_sends_total{outcome="created"')
    )
    assert total == sends
