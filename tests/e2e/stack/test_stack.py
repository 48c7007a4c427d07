"""The launcher itself: the whole stack comes up ready, SIGTERM stops every process, and a broken
component fails fast with a message that says what went wrong."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx
import pytest

from devtools import keys
from devtools.components import TEST_PROFILE, components, free_ports, redis_spec
from devtools.processes import HttpReady, ProcessSpec, Stack, StartError
from devtools.redis_server import free_port
from infra.components import ALL_COMPONENTS
from tests.support.procfs import processes_in_group


@pytest.mark.slow
def test_every_component_becomes_ready_and_sigterm_stops_them_all(tmp_path: Path) -> None:
    keyring_file = tmp_path / "keyring.json"
    keys.write_keyring(keyring_file, keys.Keyring())
    specs = components(free_ports(), external_redis=None, keyring_file=keyring_file, workers=2,
                       profile=TEST_PROFILE)
    assert {s.name for s in specs} == {c.name for c in ALL_COMPONENTS}
    with Stack(specs, ready_timeout=60) as stack:
        for spec in specs:
            assert stack.processes[spec.name].alive, f"{spec.name} is not running"
            if isinstance(spec.ready, HttpReady):
                assert httpx.get(spec.ready.url, timeout=5).status_code == 200, spec.name
        groups = {name: p.pid for name, p in stack.processes.items()}
        assert len(processes_in_group(groups["monolith"])) == 3  # master and two workers
    # Every process and everything it started (its whole group) is gone, without SIGKILL.
    left = {name: processes_in_group(pgid) for name, pgid in groups.items()}
    assert not any(left.values()), left
    killed = {name: code for name, code in stack.exit_codes.items() if code == -9}
    assert not killed, f"needed SIGKILL: {killed}"
    for spec in specs:
        if spec.url:
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"{spec.url}/healthz", timeout=2)


def test_a_child_that_ignores_sigterm_is_killed_with_its_group() -> None:
    # A leader that exits on SIGTERM, leaving a child that ignores it: stop() leaves nothing.
    script = ("import signal, subprocess, sys, time; "
              "subprocess.Popen([sys.executable, '-c', 'import signal, time; "
              "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)']); "
              "time.sleep(600)")
    stack = Stack([ProcessSpec("parent", (sys.executable, "-c", script))], ready_timeout=10)
    with stack:
        pgid = stack.processes["parent"].pid
        deadline = time.monotonic() + 30
        while len(processes_in_group(pgid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(processes_in_group(pgid)) == 2
    assert processes_in_group(pgid) == []


def test_a_missing_binary_is_a_clear_error() -> None:
    ghost = ProcessSpec("ghost", ("/nonexistent/bin/ghost-server", "--port", "1"))
    with pytest.raises(StartError, match=r"ghost: cannot start '/nonexistent/bin/ghost-server': "
                                         r"not found"):
        Stack([ghost]).start()


def test_a_component_that_dies_at_start_shows_its_last_output() -> None:
    script = "import sys; print('bad setting FOO', file=sys.stderr); sys.exit(3)"
    dying = ProcessSpec("dying", (sys.executable, "-c", script),
                        ready=HttpReady("http://127.0.0.1:1/readyz"))
    with (pytest.raises(StartError, match=r"(?s)dying exited with code 3.*bad setting FOO"),
          Stack([dying], ready_timeout=10)):
        pass


def test_a_component_that_never_gets_ready_times_out_and_is_stopped() -> None:
    port = free_port()
    server = ProcessSpec("static", (sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                                    str(port)), ready=HttpReady(f"http://127.0.0.1:{port}/readyz"))
    stack = Stack([server], ready_timeout=1.5)
    with pytest.raises(StartError, match=r"static was not ready within 2s \(waiting for http://"), \
            stack:
        pass
    assert not stack.processes["static"].alive


def test_one_component_can_be_stopped_and_restarted(tmp_path: Path) -> None:
    import redis

    spec = redis_spec(free_port(), str(tmp_path))
    with Stack([spec], ready_timeout=20) as stack:
        client = redis.Redis.from_url(str(spec.ready), socket_connect_timeout=0.5)
        assert client.ping()
        stack.processes["redis"].stop()
        with pytest.raises(redis.ConnectionError):
            client.ping()
        stack.restart("redis")
        assert client.ping()
        client.close()
