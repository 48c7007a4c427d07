"""`./dev run` (devtools.runner): prints where everything listens, brings it all up,
and one SIGTERM stops every process it started."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_dev_run_starts_everything_and_sigterm_stops_it_all() -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    runner = subprocess.Popen(
        [sys.executable, "-m", "devtools", "run", "--free-ports", "--workers", "1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    stream = runner.stdout
    assert stream is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(stream.readline, "")), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while not any("components ready" in line for line in lines):
            assert runner.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "not ready in 60s:\n" + "".join(lines)
            time.sleep(0.2)
        output = "".join(lines)
        for name in ("monolith", "send", "verify", "devinbox", "dispatcher", "events"):
            assert re.search(rf"{name}\s+started \(pid=\d+\)", output), output
        assert "(inbox page;" in output
        pids = [int(p) for p in re.findall(r"started \(pid=(\d+)\)", output)]
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(timeout=30) is not None
        reader.join(timeout=5)
        output = "".join(lines)
        assert all(not pid_alive(pid) for pid in pids), output
        assert "SIGKILL" not in output, output
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
