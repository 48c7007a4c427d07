"""The wrk Lua workloads, run by real wrk against a recording HTTP server on loopback."""

from __future__ import annotations

import ipaddress
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from bench import http, loader, tools, wrkrun

BENCHMARK_NET = ipaddress.ip_network("198.18.0.0/15")


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as wrk expects
    seen: ClassVar[list[tuple[str, dict[str, Any], str | None]]] = []
    authorizations: ClassVar[set[str | None]] = set()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append((self.path, body, self.headers.get("X-Forwarded-For")))
        self.authorizations.add(self.headers.get("Authorization"))
        self.send_response(201 if self.path == "/api/verifications" else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Recorder.seen = []
    Recorder.authorizations = set()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def wrk(url: str, script: str, env: dict[str, str]) -> wrkrun.WrkResult:
    job = wrkrun.WrkJob(url=url, script=script, duration_s=1, connections=4, threads=2, env=env)
    return wrkrun.run(tools.ensure(["wrk"])["wrk"], job)


def test_send_posts_a_new_destination_and_client_ip_every_time(server: str) -> None:
    result = wrk(server, "send.lua", {"BENCH_SEED": "4321"})
    seen = Recorder.seen
    assert result.requests > 50
    assert result.statuses == {"201": result.requests}  # wrk's count matches what was answered
    assert abs(len(seen) - result.requests) <= 4  # in flight when wrk stopped
    destinations = [body["to"] for _, body, _ in seen]
    assert len(set(destinations)) == len(destinations)
    # Seed 4321 picks area code 202 and exchanges 600-699 (send.lua's `destination`).
    assert all(re.fullmatch(r"\+12026[0-9]{6}", to) for to in destinations)
    numbers = [phonenumbers.parse(to, None) for to in destinations]
    assert all(phonenumbers.number_type(n) == PhoneNumberType.FIXED_LINE_OR_MOBILE for n in numbers)
    assert all(body["channel"] == "sms" and set(body) == {"to", "channel"} for _, body, _ in seen)
    addresses = [ipaddress.ip_address(xff) for _, _, xff in seen if xff]
    assert len(addresses) == len(seen) and all(a in BENCHMARK_NET for a in addresses)
    assert len(set(addresses)) == len(addresses)
    assert {path for path, _, _ in seen} == {"/api/verifications"}
    assert Recorder.authorizations == {f"Bearer {http.API_KEY}"}


def test_check_walks_every_id_with_a_wrong_code(server: str, tmp_path: Path) -> None:
    ids = [f"VE{i:032x}" for i in range(7)]
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    result = wrk(server, "check.lua", {"BENCH_IDS_FILE": str(ids_file)})
    bodies = [body for _, body, _ in Recorder.seen]
    assert result.requests > 50 and result.statuses == {"200": result.requests}
    assert {b["verification_id"] for b in bodies} == set(ids)
    assert all(b["code"] == loader.WRONG_CODE and set(b) == {"verification_id", "code"}
               for b in bodies)
    assert {path for path, _, _ in Recorder.seen} == {"/api/verification-checks"}
    assert Recorder.authorizations == {f"Bearer {http.API_KEY}"}
