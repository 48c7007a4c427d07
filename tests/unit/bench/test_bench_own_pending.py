"""The check workload's verifications come from the target's own send API (real HTTP on
loopback, a recording server standing in for the send service)."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from bench import own_pending, phones


class SendService(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    sent: ClassVar[list[tuple[str, str | None]]] = []
    refuse_after: ClassVar[int | None] = None
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.lock:
            self.sent.append((body["to"], self.headers.get("X-Forwarded-For")))
            refused = self.refuse_after is not None and len(self.sent) > self.refuse_after
        status, answer = ((429, {"code": "rate_limited"}) if refused
                          else (201, {"id": "VE" + secrets.token_hex(16), "to": body["to"]}))
        raw = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def send_url() -> Iterator[str]:
    SendService.sent, SendService.refuse_after = [], None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), SendService)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_each_call_creates_new_destinations_and_returns_their_ids(send_url: str) -> None:
    first = own_pending.create(send_url, 30)
    second = own_pending.create(send_url, 30)
    assert len(set(first + second)) == 60
    destinations = [to for to, _ in SendService.sent]
    assert len(set(destinations)) == 60  # never a resend, which the cooldown would refuse
    assert all(to.startswith(f"+1{phones.CHECK_AREA_CODE}") for to in destinations)
    assert len({ip for _, ip in SendService.sent}) == 60


def test_a_refused_send_fails_the_preparation_and_says_why(send_url: str) -> None:
    SendService.refuse_after = 5
    with pytest.raises(own_pending.CreateFailed, match=r"5 created .*'429': 5"):
        own_pending.create(send_url, 10)


def test_a_target_that_is_not_there_fails_the_preparation() -> None:
    with pytest.raises(own_pending.CreateFailed, match=r"0 created .*'0': 3"):
        own_pending.create("http://127.0.0.1:9", 3)  # discard port: connection refused
