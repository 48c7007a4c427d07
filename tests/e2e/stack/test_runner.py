"""`./dev run` (devtools.runner): prints where everything listens, brings it all up,
and one SIGTERM stops every process it started."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest

from devtools.processes import Process, ProcessSpec

ROOT = Path(__file__).resolve().parents[3]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_dev_run_starts_everything_and_sigterm_stops_it_all(tmp_path: Path) -> None:
    keyring_file = tmp_path / "keys" / "keyring.json"  # not there yet: ./dev run makes one
    env = {**{k: v for k, v in os.environ.items() if k != "REDIS_URL"},
           "KEYRING_FILE": str(keyring_file)}
    lines: list[str] = []
    announced = "components ready"
    spec = ProcessSpec("dev-run", (sys.executable, "-m", "devtools", "run", "--free-ports",
                                   "--workers", "1"), env=env)
    runner = Process(spec, tmp_path / "dev-run.log", output=lambda _, line: lines.append(line))
    runner.start()
    try:
        deadline = time.monotonic() + 60
        while not any(announced in line for line in lines):
            assert runner.alive, "\n".join(lines)
            assert time.monotonic() < deadline, "not ready in 60s:\n" + "\n".join(lines)
            time.sleep(0.2)
        output = "\n".join(lines)
        for name in ("monolith", "send", "verify", "devinbox", "dispatcher", "events"):
            assert re.search(rf"{name}\s+started \(pid=\d+\)", output), output
        assert "(inbox page;" in output
        shown = re.search(r"API key \(shown once\): (ak_[0-9a-f]{16})\.(\S{43})$", output, re.M)
        assert shown, output
        [entry] = json.loads(keyring_file.read_text())["keys"]
        assert (entry["id"], entry["client"]) == (shown.group(1), "dev")
        assert entry["secret_sha256"] == hashlib.sha256(shown.group(2).encode()).hexdigest()
        pids = [int(p) for p in re.findall(r"started \(pid=(\d+)\)", output)]
        # Only the runner is signalled (not its group): it must stop everything itself.
        os.kill(runner.pid, signal.SIGTERM)
        assert runner.wait(timeout=30) == 0
        output = "\n".join(lines)
        assert all(not pid_alive(pid) for pid in pids), output
        assert "exit code -9" not in output, output
    finally:
        runner.stop()
