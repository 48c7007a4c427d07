"""The printed table, latest.json and latest.png."""

from __future__ import annotations

import json
from pathlib import Path

from bench import mixed, plot, report
from bench.results import Goal, Report, Run, Skipped


def sample() -> Report:
    return Report(
        meta={"started_at": "2026-11-28T16:00:00Z", "quick": True},
        runs=[Run("services", "send", 5000, 2500.0, 3.1, 9.8, 0.4123, 0.05, {"201": 4990,
                                                                            "429": 10}),
              Run("monolith-1w", "check", 3000, 1000.0, 8.0, 20.0, None, None, {"200": 3000},
                  socket_errors=4)],
        goals=[Goal("services / monolith per core (send)", 2.5, ">= 2", True, "detail"),
               Goal("gateway overhead / nginx overhead (send)", None, "<= 1.5", None)],
        skipped=[Skipped("gateway->services", "gateway exited (1) at start")],
        redis={"services": {"send": {"commands_per_request": 1.0},
                             "check": {"commands_per_request": 1.0},
                             "memory": {"record_bytes": 536, "pending_index_bytes": 136,
                                        "core_bytes": 672}}},
        mixed={"services": {"flows_per_s": 88.0, "flow_p50_ms": 79.96, "flow_p99_ms": 317.9,
                            "failures": {"send 503 service_unavailable": 2}}},
    )


def test_table_shows_numbers_verdicts_and_what_was_skipped() -> None:
    text = report.render(sample())
    assert "services     send      2,500" in text
    assert "99.8" in text  # 2xx share in percent
    assert "429:10" in text and "sockerr:4" in text
    assert "meets" in text and "n/a" in text
    assert "not measured: gateway->services: gateway exited (1) at start" in text
    assert "QUICK SMOKE RUN" in text
    redis_line = next(line for line in text.splitlines() if "672" in line)
    assert redis_line.split()[:6] == ["services", "1.00", "1.00", "536", "136", "672"]
    mixed_line = next(line for line in text.splitlines() if "88.0" in line)
    assert mixed_line.startswith("services") and "send 503 service_unavailable:2" in mixed_line


def test_json_and_png_are_written(tmp_path: Path) -> None:
    path = report.write(sample(), tmp_path)
    data = json.loads(path.read_text())
    assert data["runs"][0]["rps"] == 2500.0 and data["runs"][0]["ok_share"] == 0.998
    assert data["goals"][1]["passed"] is None
    assert data["skipped"][0]["what"] == "gateway->services"
    png = plot.write(sample(), tmp_path)
    assert png is not None and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_runs_no_plot(tmp_path: Path) -> None:
    assert plot.write(Report(), tmp_path) is None


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert mixed.percentile(values, 0.5) == 50.0
    assert mixed.percentile(values, 0.99) == 99.0
    assert mixed.percentile(values, 1.0) == 100.0
    assert mixed.percentile([7.0], 0.99) == 7.0
    assert mixed.percentile([], 0.5) is None
