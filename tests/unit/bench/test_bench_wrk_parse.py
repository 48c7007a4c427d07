"""Reading wrk's summary line and building its command line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench import wrkrun

LINE = (
    'BENCH_JSON {"requests":1000,"duration_us":2000000,"bytes":12345,'
    '"errors":{"connect":0,"read":2,"write":0,"status":30,"timeout":1},'
    '"latency_us":{"p50":1500,"p90":2500,"p99":9000,"mean":1700.5,"max":12000},'
    '"statuses":{"201":970,"429":30}}'
)


def test_summary_line_is_found_among_wrk_text() -> None:
    stdout = f"Running 2s test @ http://127.0.0.1:1/\n  1 threads\n{LINE}\nRequests/sec: 500\n"
    result = wrkrun.parse_output(stdout)
    assert result.requests == 1000
    assert result.rps == pytest.approx(500.0)
    assert (result.p50_ms, result.p90_ms, result.p99_ms) == (1.5, 2.5, 9.0)
    assert result.statuses == {"201": 970, "429": 30}
    assert result.socket_errors == 3  # read + timeout; "status" is wrk's non-2xx count
    assert result.share("2") == pytest.approx(0.97)
    assert result.share("429") == pytest.approx(0.03)


def test_missing_summary_is_an_error_quoting_the_output() -> None:
    with pytest.raises(wrkrun.WrkFailed, match="unable to connect"):
        wrkrun.parse_output("unable to connect to 127.0.0.1:1 Connection refused\n")


@pytest.mark.parametrize("broken", [
    "BENCH_JSON {not json",
    'BENCH_JSON {"requests":1}',
    'BENCH_JSON {"requests":"x","duration_us":1,"latency_us":{},"statuses":{},"errors":{}}',
])
def test_malformed_summary_is_an_error(broken: str) -> None:
    with pytest.raises(wrkrun.WrkFailed, match="unreadable"):
        wrkrun.parse_output(broken)


def test_zero_duration_gives_zero_rate_not_a_crash() -> None:
    result = wrkrun.parse_output(LINE.replace('"duration_us":2000000', '"duration_us":0'))
    assert result.rps == 0.0


def test_argv_pins_wrk_and_names_the_script() -> None:
    job = wrkrun.WrkJob(url="http://127.0.0.1:9/", script="send.lua", duration_s=2.4,
                        connections=16, cpus="1")
    argv = job.argv(Path("/usr/bin/wrk"))
    if shutil.which("taskset"):
        assert argv[:3] == [shutil.which("taskset"), "-c", "1"]
    assert argv[-1] == "http://127.0.0.1:9/"
    assert "-c16" in argv and "-d2s" in argv and "-t1" in argv
    assert str(wrkrun.LUA_DIR / "send.lua") in argv
