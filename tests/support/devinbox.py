"""A real dev inbox in a subprocess on free loopback ports, for tests.

    with running_devinbox() as inbox:
        ...send mail to inbox.smtp_host:inbox.smtp_port...
        inbox.wait_for_messages("ada@example.com", count=1)
"""

from __future__ import annotations

import dataclasses
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from devtools.components import local_spec
from devtools.processes import Process, running
from devtools.redis_server import free_port
from infra.components import by_name

HOST = "127.0.0.1"


@dataclass
class RunningInbox:
    process: Process
    smtp_host: str
    smtp_port: int
    http_port: int

    @property
    def url(self) -> str:
        return f"http://{self.smtp_host}:{self.http_port}"

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)  # noqa: S310
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=5) as response:  # noqa: S310 - our own URL
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        path = "/messages" if to is None else f"/messages?to={quote(to, safe='')}"
        status, payload = self.request("GET", path)
        assert status == 200, (status, payload)
        return list(payload["messages"])

    def wait_for_messages(self, to: str, count: int = 1, timeout: float = 10.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages(to)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def clear(self) -> None:
        status, _ = self.request("DELETE", "/messages")
        assert status == 204


@contextmanager
def running_devinbox(max_messages: int | None = None, timeout: float = 10.0) -> Iterator[
    RunningInbox
]:
    """The declared devinbox component on free ports, stopped on the way out."""
    ports = {"devinbox": free_port(), "devinbox.smtp_port": free_port()}
    spec = local_spec(by_name("devinbox"), ports, {"PYTHONUNBUFFERED": "1"})
    if max_messages is not None:
        spec = dataclasses.replace(spec, argv=(*spec.argv, "--max-messages", str(max_messages)))
    with running(spec, timeout=timeout) as process:
        yield RunningInbox(process, HOST, ports["devinbox.smtp_port"], ports["devinbox"])
