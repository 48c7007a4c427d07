"""Start chosen components as subprocesses, wait until each is ready, stop them all.

    with Stack(components(free_ports(), external_redis=None, profile=TEST_PROFILE)) as stack:
        stack.url("monolith")

Each component's output goes to a log file (in `log_dir`); a component that dies or does not
become ready in time raises StackError with the last lines of its output.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import httpx
import redis

from devtools.components import REPO_ROOT, Component

STARTED_GRACE_SECONDS = 1.0  # a worker without a port is ready once it has stayed up this long


class StackError(RuntimeError):
    pass


class Stack:
    def __init__(self, parts: Sequence[Component], *, ready_timeout: float = 60.0,
                 log_dir: Path | None = None, root: Path = REPO_ROOT) -> None:
        self.components = {c.name: c for c in parts}
        self.ready_timeout = ready_timeout
        self.root = root
        self._own_log_dir = log_dir is None
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="kit-stack-"))
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.exit_codes: dict[str, int] = {}

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def url(self, name: str) -> str:
        url = self.components[name].url
        if url is None:
            raise KeyError(f"{name} has no HTTP port")
        return url

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def tail(self, name: str, lines: int = 25) -> str:
        path = self.log_path(name)
        text = path.read_text("utf-8", "replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def start(self) -> None:
        for phase in sorted({c.phase for c in self.components.values()}):
            batch = [c for c in self.components.values() if c.phase == phase]
            for component in batch:
                self._launch(component)
            deadline = time.monotonic() + self.ready_timeout
            for component in batch:
                self._wait_ready(component, deadline)

    def stop_component(self, name: str, timeout: float = 10.0) -> int:
        """Stop one component (SIGTERM, then SIGKILL), e.g. to take Redis away in a test."""
        process = self.processes[name]
        if process.poll() is None:
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
        return process.returncode

    def restart_component(self, name: str) -> None:
        self.stop_component(name)
        component = self.components[name]
        self._launch(component)
        self._wait_ready(component, time.monotonic() + self.ready_timeout)

    def _launch(self, component: Component) -> None:
        log = self.log_path(component.name).open("ab")
        try:
            self.processes[component.name] = subprocess.Popen(
                component.argv, cwd=self.root, env={**os.environ, **component.env},
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: gunicorn's workers stop with it
            )
        except FileNotFoundError as error:
            raise StackError(
                f"{component.name}: cannot start {component.argv[0]!r}: not found. "
                "Run ./dev sync to install the locked environment, or check the component's argv."
            ) from error
        finally:
            log.close()

    def _wait_ready(self, component: Component, deadline: float) -> None:
        process = self.processes[component.name]
        started = time.monotonic()
        while True:
            if process.poll() is not None:
                raise StackError(
                    f"{component.name} exited with code {process.returncode} while starting "
                    f"({' '.join(component.argv)}). Last output:\n{self.tail(component.name)}")
            if is_ready(component, started):
                return
            if time.monotonic() > deadline:
                raise StackError(
                    f"{component.name} was not ready within {self.ready_timeout:.0f}s "
                    f"(waiting for {component.ready or 'the process to stay up'}). "
                    f"Last output:\n{self.tail(component.name)}")
            time.sleep(0.1)

    def stop(self, timeout: float = 10.0) -> dict[str, int]:
        """SIGTERM every process group (last started first), then SIGKILL what is left."""
        running = [(n, p) for n, p in reversed(self.processes.items()) if p.poll() is None]
        for _, process in running:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for name, process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
            self.exit_codes[name] = process.returncode
        for name, process in self.processes.items():
            self.exit_codes.setdefault(name, process.returncode)
        return self.exit_codes


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def is_ready(component: Component, started: float) -> bool:
    if component.ready is None:
        return time.monotonic() - started >= STARTED_GRACE_SECONDS
    if component.ready.startswith("redis://"):
        client = redis.Redis.from_url(component.ready, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()
    try:
        return httpx.get(component.ready, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False
