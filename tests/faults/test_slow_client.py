"""One client trickles a request body (8 bytes a second for about 6 s) into the monolith as the
ECS task runs it (the container's command from infra/components.py: one gunicorn worker), directly
and through a gateway in front of it: a stream of other requests (GET /healthz and sends) keeps
its latency within 100 ms of a baseline measured in the same run (p99 and max)."""

from __future__ import annotations

import json
import shutil
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest

from devtools.components import LIVE_TABLE, local_spec
from devtools.processes import Stack
from devtools.redis_server import free_port
from infra.components import WEB_COMPONENTS, by_name
from tests.faults.api import (
    API_KEY,
    SEND_PATH,
    Findings,
    ReportFn,
    as_client,
    new_client_ip,
    new_phone,
)
from tests.faults.stack_control import FaultStack

HEALTH_CHECKS = 50
SENDS = 20
PAUSE_S = 0.03  # between the stream's requests, so that it spans the trickle
TRICKLE_BYTES = 2
TRICKLE_EVERY_S = 0.25
BODY_BYTES = 48  # 24 sends of 2 bytes, one every 0.25 s: about 6 s
ALLOWED_DELAY_S = 0.100
PIN = {"X-Backend": "monolith"}


@pytest.fixture(scope="module")
def one_worker(fault_stack: FaultStack, tmp_path_factory: pytest.TempPathFactory,
               ) -> Iterator[Stack]:
    """The task's monolith (one worker) on the fault stack's Redis, and a gateway sending the
    monolith's target group to it (the services' groups to the fault stack's)."""
    workdir = tmp_path_factory.mktemp("slow-client")
    table = workdir / "routes.toml"
    shutil.copyfile(LIVE_TABLE, table)
    ports = {"monolith": free_port(), "gateway": free_port()}
    env = dict(fault_stack.specs["monolith"].env)
    targets = {f"ROUTING_TARGET_{c.name.upper()}_URL": fault_stack.url(c.name)
               for c in WEB_COMPONENTS}
    targets["ROUTING_TARGET_MONOLITH_URL"] = f"http://127.0.0.1:{ports['monolith']}"
    specs = [local_spec(by_name("monolith"), ports, env, workers=1),
             local_spec(by_name("gateway"), ports, {**env, **targets},
                        fill={"table": str(table)})]
    (workdir / "logs").mkdir()
    with Stack(specs, ready_timeout=60.0, log_dir=workdir / "logs") as stack:
        yield stack


@dataclass
class Trickle:
    status: int | None = None
    started: float = 0.0
    finished: float = 0.0
    error: str = ""


def trickle_send(base_url: str, result: Trickle) -> None:
    """POST a valid send, its body a few bytes at a time; the answer's status in `result`."""
    body = json.dumps({"to": new_phone(), "channel": "sms"}).encode().ljust(BODY_BYTES)
    url = urlsplit(base_url)
    head = (f"POST {SEND_PATH} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: Bearer {API_KEY}\r\nContent-Type: application/json\r\n"
            f"X-Backend: monolith\r\nX-Forwarded-For: {new_client_ip()}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    result.started = time.monotonic()
    try:
        with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
            sock.sendall(head)
            for start in range(0, len(body), TRICKLE_BYTES):
                sock.sendall(body[start:start + TRICKLE_BYTES])
                time.sleep(TRICKLE_EVERY_S)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        result.status = int(answer.split(b" ", 2)[1])
    except (OSError, ValueError, IndexError) as error:
        result.error = f"{type(error).__name__}: {error}"
    result.finished = time.monotonic()


def stream_latencies(http: httpx.Client, base_url: str) -> tuple[list[float], list[str]]:
    """Each request's seconds, and any answer that was not the healthy one."""
    latencies, wrong = [], []
    plan = ["healthz"] * HEALTH_CHECKS + ["send"] * SENDS
    plan = [plan[i] for i in sorted(range(len(plan)), key=lambda i: (i * 7) % len(plan))]
    for op in plan:
        started = time.monotonic()
        if op == "healthz":
            response = http.get(base_url + "/healthz", headers=PIN)
            healthy = response.status_code == 200
        else:
            response = http.post(base_url + SEND_PATH, json={"to": new_phone(), "channel": "sms"},
                                 headers={**PIN, **as_client(new_client_ip())})
            healthy = response.status_code == 201
        latencies.append(time.monotonic() - started)
        if not healthy:
            wrong.append(f"{op}: {response.status_code} {response.text[:200]}")
        time.sleep(PAUSE_S)
    return latencies, wrong


def profile(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    p99 = statistics.quantiles(ordered, n=100, method="inclusive")[98]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p99_ms": round(p99 * 1000, 1), "max_ms": round(ordered[-1] * 1000, 1)}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("via", ["monolith", "gateway"])
def test_a_trickling_body_does_not_delay_other_requests(
        one_worker: Stack, http: httpx.Client, report: ReportFn, via: str) -> None:
    base_url = one_worker.url(via)
    found = Findings()
    stream_latencies(http, base_url)  # warm: connections, scripts, code paths
    baseline, wrong_before = stream_latencies(http, base_url)
    trickle = Trickle()
    trickler = threading.Thread(target=trickle_send, args=(base_url, trickle), daemon=True)
    trickler.start()
    time.sleep(0.5)  # the body has begun to arrive
    began = time.monotonic()
    during, wrong_during = stream_latencies(http, base_url)
    ended = time.monotonic()
    trickler.join(timeout=30)

    before, meanwhile = profile(baseline), profile(during)
    report(f"slow_client_{via}_baseline", before)
    report(f"slow_client_{via}_while_trickling", meanwhile)
    report(f"slow_client_{via}_trickled_send", {
        "status": trickle.status, "seconds": round(trickle.finished - trickle.started, 2),
        "error": trickle.error})
    found.expect(not wrong_before and not wrong_during, "unhealthy answers in the stream",
                 wrong_before + wrong_during)
    found.expect(trickle.status == 201, f"the trickled send answered {trickle.status} "
                 f"{trickle.error}")
    found.expect(trickle.started < began and trickle.finished > ended,
                 "the trickle did not span the measured stream "
                 f"(trickle {trickle.started:.2f}..{trickle.finished:.2f}, "
                 f"stream {began:.2f}..{ended:.2f})")
    for measure in ("p99_ms", "max_ms"):
        found.expect(meanwhile[measure] <= before[measure] + ALLOWED_DELAY_S * 1000,
                     f"{measure} while a body trickled in: {meanwhile[measure]} ms, baseline "
                     f"{before[measure]} ms (+{ALLOWED_DELAY_S * 1000:.0f} ms allowed)")
    found.assert_none()

