"""Run a real dev inbox in a subprocess on free loopback ports (for tests and scripts).

    with running_devinbox() as inbox:
        ...send mail to inbox.smtp_host:inbox.smtp_port...
        inbox.wait_for_messages("ada@example.com", count=1)
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningInbox:
    process: subprocess.Popen[str]
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


def _wait_until_healthy(inbox: RunningInbox, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if inbox.process.poll() is not None:
            raise RuntimeError(f"devinbox exited at start with {inbox.process.returncode}")
        try:
            if inbox.request("GET", "/healthz")[0] == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"devinbox did not answer at {inbox.url} within {timeout:.0f}s")
        time.sleep(0.05)


@contextmanager
def running_devinbox(max_messages: int | None = None, timeout: float = 10.0) -> Iterator[
    RunningInbox
]:
    http_port, smtp_port = free_port(), free_port()
    argv = [sys.executable, "-m", "devinbox", "--host", HOST,
            "--http-port", str(http_port), "--smtp-port", str(smtp_port)]
    if max_messages is not None:
        argv += ["--max-messages", str(max_messages)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    inbox = RunningInbox(process, HOST, smtp_port, http_port)
    try:
        _wait_until_healthy(inbox, timeout)
        yield inbox
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
