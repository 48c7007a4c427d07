"""The services as the supervisor runs them: `python -m uvicorn --factory ...` on loopback."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from devtools.components import local_spec
from devtools.processes import HttpReady, Process, ProcessSpec, running
from devtools.redis_server import free_port
from infra.components import by_name
from tests.integration.services.support import PHONE, learn_code
from tests.support.api_keys import shared_key, shared_keyring_file

ROOT = Path(__file__).resolve().parents[3]
# Production asks for at least 32 bytes (docs/api.md "Production").
PEPPER = "e2e-pepper-of-at-least-thirty-two-bytes"


def service_spec(name: str, redis_url: str, **extra_env: str) -> ProcessSpec:
    """The declared component (its command line exactly as ./dev run and the contract stack
    start it), in production mode, on a free port."""
    env = {"REDIS_URL": redis_url, "CODE_PEPPER": PEPPER, "APP_ENV": "production",
           "VERIFY_CODE_LENGTH": "8", "KEYRING_FILE": shared_keyring_file(), **extra_env}
    spec = local_spec(by_name(name), {name: free_port()}, env)
    return dataclasses.replace(spec, ready=HttpReady(f"{spec.url}/healthz"))


@pytest.fixture
def services(redis_url: str, redis_client: redis.Redis) -> Iterator[tuple[Process, Process]]:
    with running(service_spec("send", redis_url)) as send, \
            running(service_spec("verify", redis_url)) as verify:
        yield send, verify


def test_real_servers_flow_and_clean_shutdown(
    services: tuple[Process, Process], redis_client: redis.Redis
) -> None:
    send_process, verify_process = services
    send_base, verify_base = str(send_process.spec.url), str(verify_process.spec.url)
    with httpx.Client(timeout=5, headers=shared_key().authorization) as client:
        created = client.post(
            f"{send_base}/api/verifications", json={"to": PHONE, "channel": "sms"}
        )
        assert created.status_code == 201
        vid = created.json()["id"]
        code = learn_code(redis_client, vid, PEPPER)
        assert len(code) == 8

        def chunks() -> Iterator[bytes]:
            for _ in range(20):
                yield b" " * 1024

        too_big = client.post(f"{send_base}/api/verifications", content=chunks(),
                              headers={"Content-Type": "application/json"})
        assert too_big.status_code == 413
        assert too_big.json()["code"] == "payload_too_large"

        checked = client.post(f"{verify_base}/api/verification-checks",
                              json={"verification_id": vid, "code": code})
        assert checked.json()["status"] == "approved"
        assert client.get(f"{send_base}/readyz").json() == {"status": "ready"}
        metrics = client.get(f"{verify_base}/metrics")
        assert re.search(r'http_requests_total\{method="POST",route="/api/verification-checks"',
                         metrics.text)
    outputs = []
    for process in (send_process, verify_process):
        process.signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal: exit by SIGTERM is the norm.
        assert process.wait(timeout=10) in (0, -signal.SIGTERM)
        outputs.append(process.tail(200))
    assert all("Application shutdown complete" in output for output in outputs)
    assert all(code not in output for output in outputs)


def test_production_refuses_to_start_without_pepper(redis_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CODE_PEPPER"}
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "--factory", "services.send.app:create_app",
         "--host", "127.0.0.1", "--port", str(free_port())],
        cwd=ROOT, env={**env, "APP_ENV": "production", "REDIS_URL": redis_url},
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode != 0
    assert "CODE_PEPPER" in result.stderr


def test_a_loopback_client_cannot_choose_its_ip_with_x_forwarded_for(
    redis_url: str, redis_client: redis.Redis
) -> None:
    """With no trusted proxy, the peer is the client, whatever X-Forwarded-For says (uvicorn's
    own proxy-header handling would believe loopback peers; the command line turns it off)."""
    with running(service_spec("send", redis_url, TRUSTED_PROXIES="",
                              VERIFY_IP_LIMIT="2")) as service:
        base = str(service.spec.url)
        statuses = [
            httpx.post(f"{base}/api/verifications",
                       json={"to": f"+1212555{index:04d}", "channel": "sms"},
                       headers={"X-Forwarded-For": f"198.18.0.{index}",
                                **shared_key().authorization}).status_code
            for index in range(3)
        ]
        assert statuses == [201, 201, 429], statuses
