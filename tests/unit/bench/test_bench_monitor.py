"""Counting client round trips with MONITOR (a dedicated embedded Redis: no one else's traffic)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from bench import monitor
from devtools.redis_server import start_embedded


def test_split_phases_leaves_out_lua_and_markers() -> None:
    seen = [
        monitor.Seen("tcp", "GET before-any-phase"),
        monitor.Seen("tcp", f"ECHO {monitor.MARKER}send"),
        monitor.Seen("tcp", "evalsha abc 0"),
        monitor.Seen("lua", "HSET k f v"),
        monitor.Seen("tcp", "EVALSHA abc 0"),
        monitor.Seen("tcp", f"ECHO {monitor.MARKER}check"),
        monitor.Seen("unix", "HGETALL k"),
        monitor.Seen("tcp", f"ECHO {monitor.STOP}"),
        monitor.Seen("tcp", "GET after-stop"),
    ]
    phases = monitor.split_phases(seen)
    assert phases == {"send": {"EVALSHA": 2}, "check": {"HGETALL": 1}}


@pytest.fixture
def dedicated() -> Iterator[str]:
    server = start_embedded()
    try:
        yield server.url
    finally:
        server.stop()


def test_recorder_counts_commands_of_other_clients(dedicated: str) -> None:
    harness = redis.Redis.from_url(dedicated, decode_responses=True)
    app = redis.Redis.from_url(dedicated, decode_responses=True)
    script = app.register_script("-- KEYS[1]: a key; ARGV: none\n"
                                 "redis.call('SET', KEYS[1], 1) return redis.call('INCR', KEYS[1])")
    script(keys=["warm"])  # loads the script before counting, as the probe warms targets up
    recorder = monitor.Recorder(dedicated)
    recorder.start()
    monitor.mark(harness, "send")
    for i in range(3):
        script(keys=[f"k{i}"])
    monitor.mark(harness, "check")
    pipe = app.pipeline(transaction=False)
    pipe.get("k0")
    pipe.time()
    pipe.execute()
    phases = recorder.stop(harness)
    assert phases["send"] == {"EVALSHA": 3}  # SET and INCR ran inside Lua: not round trips
    assert phases["check"] == {"GET": 1, "TIME": 1}
    harness.close()
    app.close()
