"""The process command of the brief: gunicorn with two workers, metrics summed over both."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
import redis

from devtools.components import local_spec
from devtools.processes import REPO_ROOT, HttpReady, running
from devtools.redis_server import free_port
from infra.components import by_name
from tests.support.api_keys import shared_key, shared_keyring_file


@pytest.fixture
def gunicorn_url(redis_url: str, redis_client: redis.Redis) -> Iterator[str]:
    """The declared monolith command (as ./dev run starts it) with two workers."""
    env = {"REDIS_URL": redis_url, "VERIFY_RESEND_COOLDOWN_SECONDS": "0",
           "PROMETHEUS_MULTIPROC_DIR": "",  # gunicorn_conf makes its own
           "KEYRING_FILE": shared_keyring_file()}
    spec = local_spec(by_name("monolith"), {"monolith": free_port()}, env, workers=2)
    spec = dataclasses.replace(spec, ready=HttpReady(f"{spec.url}/healthz"))
    with running(spec, timeout=20) as process:
        yield str(spec.url)
        assert process.stop(timeout=15) == 0


def test_gunicorn_serves_and_aggregates_metrics_over_workers(gunicorn_url: str) -> None:
    sends = 12
    with httpx.Client(base_url=gunicorn_url, timeout=5) as http:
        for n in range(sends):
            # a new connection each time, so both workers get a share
            response = httpx.post(f"{gunicorn_url}/api/verifications",
                                  json={"to": f"+1415555{n:04d}", "channel": "sms"}, timeout=5,
                                  headers=shared_key().authorization)
            assert response.status_code == 201
        assert http.get("/readyz").json() == {"status": "ready"}
        text = http.get("/metrics").text
    total = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith('monolith_sends_total{outcome="created"')
    )
    assert total == sends


@pytest.mark.parametrize("threads", ["0", "many", "257"])
def test_a_bad_thread_count_refuses_to_start_naming_the_variable(threads: str) -> None:
    argv = by_name("monolith").argv(python=sys.executable, host="127.0.0.1", port=free_port())
    env = {**os.environ, "MONOLITH_THREADS": threads, "PROMETHEUS_MULTIPROC_DIR": "",
           "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30,
                          cwd=REPO_ROOT)
    assert done.returncode != 0
    assert f"MONOLITH_THREADS={threads!r}: must be a whole number from 1 to 256" in done.stderr
