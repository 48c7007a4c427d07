"""`python -m routing.gateway` logs JSON lines (time, level, logger, message)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from devtools.redis_server import free_port
from tests.support.json_logs import json_log_lines


def test_the_gateway_process_logs_json_lines(tmp_path: Path) -> None:
    table = tmp_path / "routes.toml"
    shutil.copy("routing/routes.toml", table)
    port = free_port()
    env = {**os.environ, "ROUTING_HEALTH_INTERVAL_S": "0.2",  # targets with nothing listening
           **{f"ROUTING_TARGET_{group}_URL": f"http://127.0.0.1:{free_port()}"
              for group in ("MONOLITH", "SEND", "VERIFY")}}
    process = subprocess.Popen(
        [sys.executable, "-m", "routing.gateway", "--table", str(table), "--host", "127.0.0.1",
         "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/__gateway/status.json", timeout=1)
                if status.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "no gateway"
            time.sleep(0.1)
        answer = httpx.post(f"http://127.0.0.1:{port}/api/verifications", json={}, timeout=5)
        assert answer.status_code >= 500  # no target answers
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=15)
    assert process.returncode == 0
    entries = json_log_lines(stdout + stderr)
    messages = [e["message"] for e in entries]
    assert any(m.startswith(f"listening on http://127.0.0.1:{port},") for m in messages), messages
    assert any(e["logger"] == "routing.gateway.proxy" and e["level"] == "WARNING"
               for e in entries), messages
