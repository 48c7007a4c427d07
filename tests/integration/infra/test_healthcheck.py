"""infra/docker/healthcheck.py against a real Redis and a real HTTP server on loopback."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from devtools.redis_server import free_port

SCRIPT = Path(__file__).resolve().parents[3] / "infra" / "docker" / "healthcheck.py"


def probe(*args: str, env: dict[str, str] | None = None) -> int:
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, timeout=30,
                          capture_output=True, check=False).returncode


class Ready(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/readyz" else 503)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Ready)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_http_probe_follows_the_status(http_port: int) -> None:
    assert probe(f"http://127.0.0.1:{http_port}/readyz") == 0
    assert probe(f"http://127.0.0.1:{http_port}/not-ready") == 1


def test_http_probe_fails_when_nothing_listens() -> None:
    assert probe(f"http://127.0.0.1:{free_port()}/readyz") == 1


def test_redis_probe(redis_url: str) -> None:
    assert probe("redis", env={"REDIS_URL": redis_url}) == 0
    assert probe("redis", env={"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}) == 1


def test_usage_error() -> None:
    assert probe() == 2
