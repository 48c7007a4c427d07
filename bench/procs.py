"""Start the processes under test on loopback, wait until they answer, stop them cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.tools import pinned

ROOT = Path(__file__).resolve().parents[1]


class StartFailed(RuntimeError):
    """A process exited or never answered; the message quotes the end of its log."""


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def argv_value(self, flag: str) -> str:
        """The value given after `flag` on this process's command line."""
        argv = [str(a) for a in self.process.args]  # type: ignore[union-attr]
        return argv[argv.index(flag) + 1]

    def log_tail(self, chars: int = 1500) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # our own session: its workers too
                self.process.wait()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:  # noqa: S310 (loopback URL)
            return int(response.status) < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (OSError, ValueError):
        return False


def start(name: str, argv: list[str], *, port: int, env: dict[str, str], log_dir: Path,
          cpus: str | None = None, health_path: str = "/healthz",
          timeout: float = 30.0) -> Server:
    """Start argv (pinned to `cpus`) and wait until GET health_path answers below 500."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            pinned(argv, cpus), cwd=ROOT, env={**os.environ, **env},
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, process, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + timeout
    while not _answers(server.base_url + health_path):
        if process.poll() is not None:
            raise StartFailed(f"{name} exited ({process.returncode}) at start:\n"
                              f"{server.log_tail()}")
        if time.monotonic() > deadline:
            server.stop()
            raise StartFailed(f"{name} did not answer {health_path} within {timeout:.0f}s:\n"
                              f"{server.log_tail()}")
        time.sleep(0.1)
    return server


def stop_all(servers: list[Server]) -> None:
    for server in reversed(servers):
        server.stop()
