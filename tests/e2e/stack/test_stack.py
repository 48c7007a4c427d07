"""The launcher itself: the whole stack comes up ready, SIGTERM stops every process, and a broken
component fails fast with a message that says what went wrong."""

from __future__ import annotations

import os
import sys

import httpx
import pytest

from devtools.components import TEST_PROFILE, Component, components, free_ports
from devtools.stack import Stack, StackError


def group_alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_every_component_becomes_ready_and_sigterm_stops_them_all() -> None:
    parts = components(free_ports(), external_redis=None, workers=1, profile=TEST_PROFILE)
    names = {p.name for p in parts}
    assert {"redis", "devinbox", "monolith", "monolith-events", "dispatcher", "send",
            "verify"} <= names
    with Stack(parts, ready_timeout=60) as stack:
        for part in parts:
            assert stack.processes[part.name].poll() is None, f"{part.name} is not running"
            if part.ready and part.ready.startswith("http"):
                assert httpx.get(part.ready, timeout=5).status_code == 200, part.name
        pids = {name: p.pid for name, p in stack.processes.items()}
    # Every process (and its process group, e.g. gunicorn's workers) is gone, without SIGKILL.
    assert all(not group_alive(pid) for pid in pids.values()), stack.exit_codes
    killed = {name: code for name, code in stack.exit_codes.items() if code == -9}
    assert not killed, f"needed SIGKILL: {killed}"
    for part in parts:
        if part.port:
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"http://127.0.0.1:{part.port}/healthz", timeout=2)


def test_a_missing_binary_is_a_clear_error() -> None:
    ghost = Component("ghost", ("/nonexistent/bin/ghost-server", "--port", "1"))
    with pytest.raises(StackError, match=r"ghost: cannot start '/nonexistent/bin/ghost-server': "
                                         r"not found"):
        Stack([ghost]).start()


def test_a_component_that_dies_at_start_shows_its_last_output() -> None:
    script = "import sys; print('bad setting FOO', file=sys.stderr); sys.exit(3)"
    dying = Component("dying", (sys.executable, "-c", script), port=free_ports().monolith,
                      ready="http://127.0.0.1:1/readyz")
    with (pytest.raises(StackError, match=r"(?s)dying exited with code 3.*bad setting FOO"),
          Stack([dying], ready_timeout=10)):
        pass


def test_a_component_that_never_gets_ready_times_out_and_is_stopped() -> None:
    port = free_ports().monolith
    server = Component("static", (sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                                  str(port)), port=port, ready=f"http://127.0.0.1:{port}/readyz")
    stack = Stack([server], ready_timeout=1.5)
    with pytest.raises(StackError, match=r"static was not ready within 2s \(waiting for http://"), \
            stack:
        pass
    assert stack.processes["static"].poll() is not None


def test_one_component_can_be_stopped_and_restarted() -> None:
    import redis

    parts = [p for p in components(free_ports(), external_redis=None) if p.name == "redis"]
    with Stack(parts, ready_timeout=20) as stack:
        assert parts[0].ready is not None
        client = redis.Redis.from_url(parts[0].ready, socket_connect_timeout=0.5)
        assert client.ping()
        stack.stop_component("redis")
        with pytest.raises(redis.ConnectionError):
            client.ping()
        stack.restart_component("redis")
        assert client.ping()
        client.close()
