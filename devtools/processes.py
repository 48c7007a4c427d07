"""The one way the kit starts, waits for and stops processes (dev tools, tests, bench).

    with Stack([ProcessSpec("inbox", argv, ready=HttpReady("http://127.0.0.1:8025/healthz"))]) as s:
        s.url("inbox")

A process gets its own process group (gunicorn's workers stop with their master) and its output
goes to a log file, or, for `./dev run`, to the terminal line by line behind its name. Stopping is
SIGTERM to the group, then SIGKILL to whatever is left after the timeout; a stopped Stack leaves
no process behind. A process that dies or is not ready in time raises StartError quoting the end
of its output.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol

import httpx
import redis

REPO_ROOT = Path(__file__).resolve().parents[1]
STAYS_UP_SECONDS = 1.0  # a worker without a port is ready once it has stayed up this long


class StartError(RuntimeError):
    """A process could not start, died while starting, or was not ready in time."""


class Readiness(Protocol):
    def __call__(self, started: float) -> bool: ...

    def __str__(self) -> str: ...


@dataclass(frozen=True)
class HttpReady:
    """GET `url` answers a status that `accept` takes (200 by default)."""

    url: str
    accept: Callable[[int], bool] = field(default=lambda status: status == 200)

    def __call__(self, started: float) -> bool:
        try:
            return self.accept(httpx.get(self.url, timeout=2.0).status_code)
        except httpx.HTTPError:
            return False

    def __str__(self) -> str:
        return self.url


@dataclass(frozen=True)
class RedisReady:
    """The server at `url` answers PING."""

    url: str

    def __call__(self, started: float) -> bool:
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=1.0)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def __str__(self) -> str:
        return self.url


@dataclass(frozen=True)
class StaysUp:
    """A worker with nothing to ask: ready once it has run for `seconds` without exiting."""

    seconds: float = STAYS_UP_SECONDS

    def __call__(self, started: float) -> bool:
        return time.monotonic() - started >= self.seconds

    def __str__(self) -> str:
        return f"the process to stay up for {self.seconds:g}s"


@dataclass(frozen=True)
class ProcessSpec:
    """One process: its command, environment (added to ours), when it is ready, where it listens.

    `port` is informational (the URL of an HTTP process); `phase` orders a Stack's start: every
    process of phase 0 is ready before phase 1 starts.
    """

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    ready: Readiness = field(default_factory=StaysUp)
    port: int | None = None
    phase: int = 1
    cwd: Path = REPO_ROOT

    @property
    def url(self) -> str | None:
        return f"http://127.0.0.1:{self.port}" if isinstance(self.ready, HttpReady) else None


Output = Callable[[str, str], None]  # (process name, one line of its output)


class Process:
    """One running process of a spec: start, wait until ready, signal, stop."""

    def __init__(self, spec: ProcessSpec, log_path: Path, output: Output | None = None) -> None:
        self.spec = spec
        self.log_path = log_path
        self.output = output
        self.popen: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._terminated = False
        self.started_at = 0.0

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.spec.name} was never started"
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def start(self) -> None:
        spec = self.spec
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        try:
            self.popen = subprocess.Popen(
                spec.argv, cwd=spec.cwd, env={**os.environ, **spec.env},
                stdout=log if self.output is None else subprocess.PIPE,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: its children stop with it
            )
        except FileNotFoundError as error:
            raise StartError(
                f"{spec.name}: cannot start {spec.argv[0]!r}: not found. Run ./dev sync to "
                "install the locked environment, or check the command.") from error
        finally:
            log.close()
        self.started_at = time.monotonic()
        self._terminated = False
        if self.output is not None:
            self._reader = threading.Thread(target=self._copy_output, daemon=True,
                                            name=f"output-{spec.name}")
            self._reader.start()

    def _copy_output(self) -> None:
        assert self.popen is not None and self.popen.stdout is not None and self.output
        with self.log_path.open("ab") as log:
            for raw in iter(self.popen.stdout.readline, b""):
                log.write(raw)
                log.flush()
                self.output(self.spec.name, raw.decode("utf-8", "replace").rstrip("\n"))

    def wait_ready(self, deadline: float, timeout_text: str = "") -> None:
        while True:
            if not self.alive:
                raise StartError(
                    f"{self.spec.name} exited with code {self.returncode} while starting "
                    f"({' '.join(self.spec.argv)}). Last output:\n{self.tail()}")
            if self.spec.ready(self.started_at):
                return
            if time.monotonic() > deadline:
                raise StartError(
                    f"{self.spec.name} was not ready within {timeout_text or 'the time given'} "
                    f"(waiting for {self.spec.ready}). Last output:\n{self.tail()}")
            time.sleep(0.1)

    def is_ready(self) -> bool:
        return self.alive and self.spec.ready(self.started_at)

    def signal(self, signum: int) -> None:
        """Signal the whole process group (a no-op when it has gone)."""
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signum)

    def terminate(self) -> None:
        """SIGTERM the group once (a second SIGTERM makes some servers skip their graceful stop)."""
        if self.alive and not self._terminated:
            self._terminated = True
            self.signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        assert self.popen is not None
        code = self.popen.wait(timeout=timeout)
        if self._reader is not None:
            self._reader.join(timeout=5)
        return code

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM the group, SIGKILL it after `timeout`; the exit code (None: never started)."""
        if self.popen is None:
            return None
        self.terminate()
        try:
            return self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            return self.wait(timeout)
        finally:
            self._kill_what_is_left()

    def _kill_what_is_left(self, timeout: float = 5.0) -> None:
        """A child that outlived its leader (in its group) is killed, and gone when we return."""
        deadline = time.monotonic() + timeout
        while self._group_exists() and time.monotonic() < deadline:
            self.signal(signal.SIGKILL)
            time.sleep(0.02)

    def _group_exists(self) -> bool:
        assert self.popen is not None
        try:
            os.killpg(self.popen.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def tail(self, lines: int = 25) -> str:
        text = self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class Stack:
    """Processes started phase by phase, each phase ready before the next; stopped together."""

    def __init__(self, specs: Sequence[ProcessSpec], *, ready_timeout: float = 60.0,
                 log_dir: Path | None = None, output: Output | None = None) -> None:
        self.specs = {spec.name: spec for spec in specs}
        self.ready_timeout = ready_timeout
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="kit-stack-"))
        self.output = output
        self.processes: dict[str, Process] = {}
        self.exit_codes: dict[str, int | None] = {}

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
        url = self.specs[name].url
        if url is None:
            raise KeyError(f"{name} has no HTTP port")
        return url

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def tail(self, name: str, lines: int = 25) -> str:
        return self.processes[name].tail(lines)

    def start(self) -> None:
        for phase in sorted({spec.phase for spec in self.specs.values()}):
            batch = [spec for spec in self.specs.values() if spec.phase == phase]
            for spec in batch:
                self.launch(spec.name)
            deadline = time.monotonic() + self.ready_timeout
            for spec in batch:
                self.processes[spec.name].wait_ready(deadline, f"{self.ready_timeout:.0f}s")

    def launch(self, name: str) -> Process:
        """Start one process (again, after it stopped), without waiting for it."""
        process = Process(self.specs[name], self.log_path(name), self.output)
        self.processes[name] = process
        process.start()
        return process

    def restart(self, name: str) -> None:
        """Stop one process if it runs, start it with the same spec, wait until it is ready."""
        self.processes[name].stop()
        self.launch(name).wait_ready(time.monotonic() + self.ready_timeout,
                                     f"{self.ready_timeout:.0f}s")

    def stop(self, timeout: float = 10.0) -> dict[str, int | None]:
        """SIGTERM every process group (last started first), then SIGKILL what is left."""
        for process in reversed(self.processes.values()):
            process.terminate()
        deadline = time.monotonic() + timeout
        for process in reversed(self.processes.values()):
            self.exit_codes[process.spec.name] = process.stop(
                max(0.1, deadline - time.monotonic()))
        return self.exit_codes


def stop_all(processes: Sequence[Process]) -> None:
    """Stop each (last first)."""
    for process in reversed(processes):
        process.stop()


def start_one(spec: ProcessSpec, *, timeout: float = 30.0, log_dir: Path | None = None) -> Process:
    """Start one process and wait until it is ready (stopped again when it is not)."""
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="kit-proc-"))
    process = Process(spec, log_dir / f"{spec.name}.log")
    process.start()
    try:
        process.wait_ready(time.monotonic() + timeout, f"{timeout:.0f}s")
    except BaseException:
        process.stop()
        raise
    return process


@contextlib.contextmanager
def running(spec: ProcessSpec, *, timeout: float = 30.0,
            log_dir: Path | None = None) -> Iterator[Process]:
    """`start_one` as a context: the process is stopped (group and all) on the way out."""
    process = start_one(spec, timeout=timeout, log_dir=log_dir)
    try:
        yield process
    finally:
        process.stop()
