"""`python -m routing.gateway` logs JSON lines (time, level, logger, message)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx

from devtools.components import local_spec
from devtools.processes import HttpReady, running
from devtools.redis_server import free_port
from infra.components import by_name
from tests.support.json_logs import json_log_lines

# A fixture table of the shipped shape (every target is down: its weights do not matter).
FIXTURE_TABLE = Path(__file__).resolve().parents[2] / "unit" / "routing" / "tables" / "shipped.toml"


def test_the_gateway_process_logs_json_lines() -> None:
    port = free_port()
    env = {"ROUTING_HEALTH_INTERVAL_S": "0.2",  # targets with nothing listening
           **{f"ROUTING_TARGET_{group}_URL": f"http://127.0.0.1:{free_port()}"
              for group in ("MONOLITH", "SEND", "VERIFY")}}
    spec = local_spec(by_name("gateway"), {"gateway": port}, env,
                      fill={"table": str(FIXTURE_TABLE)})
    spec = dataclasses.replace(spec, ready=HttpReady(f"{spec.url}/__gateway/status.json"))
    with running(spec, timeout=20) as process:
        answer = httpx.post(f"{spec.url}/api/verifications", json={}, timeout=5)
        assert answer.status_code >= 500  # no target answers
        assert process.stop(timeout=15) == 0
    entries = json_log_lines(process.tail(10_000))
    messages = [e["message"] for e in entries]
    assert any(m.startswith(f"listening on http://127.0.0.1:{port},") for m in messages), messages
    assert any(e["logger"] == "routing.gateway.proxy" and e["level"] == "WARNING"
               for e in entries), messages
