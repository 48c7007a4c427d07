"""The printed table, latest.json and latest.png."""

from __future__ import annotations

import json
from pathlib import Path

from bench import mixed, plot, report
from bench.results import (
    SERVICES_FEW_PENDING,
    SERVICES_FEW_PENDING_AFTER,
    SERVICES_MANY_PENDING,
    Goal,
    Report,
    Run,
    Skipped,
)


def pending_runs() -> list[Run]:
    runs = []
    for target, send, check in ((SERVICES_FEW_PENDING, 3000.0, 4000.0),
                                (SERVICES_MANY_PENDING, 2900.0, 3700.0),
                                (SERVICES_FEW_PENDING_AFTER, 3100.0, 4000.0)):
        runs.append(Run(target, "send", 15000, send, 3.0, 9.0, 0.3, 0.05, {"201": 15000},
                        rps_samples=(send - 10, send, send + 10)))
        runs.append(Run(target, "check", 20000, check, 2.0, 7.0, 0.2, 0.04, {"200": 20000}))
    return runs


def sample() -> Report:
    return Report(
        meta={"started_at": "2026-11-28T16:00:00Z", "quick": True, "many_pending": 1_000_000,
              "many_pending_storage_version": 3, "many_pending_load_s": 21.5},
        runs=[Run("services", "send", 5000, 2500.0, 3.1, 9.8, 0.4123, 0.05, {"201": 4990,
                                                                            "429": 10}),
              Run("monolith-1w", "check", 3000, 1000.0, 8.0, 20.0, None, None, {"200": 3000},
                  socket_errors=4),
              *pending_runs()],
        goals=[Goal("services / monolith per core (send)", 2.5, ">= 2", True, "detail"),
               Goal("gateway overhead / nginx overhead (send)", None, "<= 1.5", None)],
        skipped=[Skipped("gateway->services", "gateway exited (1) at start")],
        redis={"services": {"send": {"commands_per_request": 1.0},
                             "check": {"commands_per_request": 1.0},
                             "memory": {"storage_version": 2, "record_bytes": 536,
                                        "pending_index_bytes": 136, "core_bytes": 672,
                                        "failed_checks_counter_bytes": 72}}},
        memory={"verifications": 1000,
                "2": {"verifications": 1000, "record_bytes": 541.5, "pending_index_bytes": 131,
                      "core_bytes": 672.5},
                "3": {"verifications": 1000, "record_bytes": 248, "pending_index_bytes": None,
                      "core_bytes": 248}},
        mixed={"services": {"flows_per_s": 88.0, "flow_p50_ms": 79.96, "flow_p99_ms": 317.9,
                            "failures": {"send 503 service_unavailable": 2}}},
    )


def test_table_shows_numbers_verdicts_and_what_was_skipped() -> None:
    text = report.render(sample())
    assert any(line.split()[:3] == ["services", "send", "2,500"] for line in text.splitlines())
    assert "99.8" in text  # 2xx share in percent
    assert "429:10" in text and "sockerr:4" in text
    assert "meets" in text and "n/a" in text
    assert "not measured: gateway->services: gateway exited (1) at start" in text
    assert "QUICK SMOKE RUN" in text
    redis_line = next(line for line in text.splitlines() if "672" in line)
    assert redis_line.split()[:7] == ["services", "1.00", "1.00", "2", "536", "136", "672"]
    assert redis_line.split()[-3] == "72"  # the failed-checks counter, apart from core
    mixed_line = next(line for line in text.splitlines() if "88.0" in line)
    assert mixed_line.startswith("services") and "send 503 service_unavailable:2" in mixed_line


def test_table_shows_bytes_of_both_storage_versions() -> None:
    lines = report.render(sample()).splitlines()
    v2 = next(line for line in lines if line.startswith("storage version 2"))
    v3 = next(line for line in lines if line.startswith("storage version 3"))
    assert v2.split()[3:] == ["1,000", "542", "131", "672"]  # record + index = core
    assert v3.split()[3:] == ["1,000", "248", "-", "248"]  # one key per verification


def test_table_shows_the_many_pending_ratio_per_workload() -> None:
    lines = report.render(sample()).splitlines()
    send = next(line for line in lines if line.startswith("1,000,000 (v3)") and "send" in line)
    check = next(line for line in lines if line.startswith("1,000,000 (v3)") and "check" in line)
    # many / the mean of the 1k runs before and after: 2900 / 3050, 3700 / 4000
    assert send.split()[2:] == ["send", "3,000", "2,900", "3,100", "0.951"]
    assert check.split()[2:] == ["check", "4,000", "3,700", "4,000", "0.925"]


def test_json_and_png_are_written(tmp_path: Path) -> None:
    path = report.write(sample(), tmp_path)
    data = json.loads(path.read_text())
    assert data["runs"][0]["rps"] == 2500.0 and data["runs"][0]["ok_share"] == 0.998
    assert data["goals"][1]["passed"] is None
    assert data["skipped"][0]["what"] == "gateway->services"
    assert data["memory"]["3"]["core_bytes"] == 248 and data["memory"]["2"]["core_bytes"] == 672.5
    pending = data["pending"]
    assert (pending["pending"], pending["storage_version"], pending["load_s"]) \
        == (1_000_000, 3, 21.5)
    assert pending["send"]["ratio"] == 0.9508 and pending["check"]["ratio"] == 0.925
    assert pending["send"]["rps"][SERVICES_MANY_PENDING] == 2900.0
    assert pending["send"]["rps_samples"][SERVICES_FEW_PENDING] == [2990.0, 3000.0, 3010.0]
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
