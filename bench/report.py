"""Print the results table and write latest.json."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import ratios
from bench.ratios import WORKLOADS
from bench.results import (
    SERVICES_FEW_PENDING,
    SERVICES_FEW_PENDING_AFTER,
    SERVICES_MANY_PENDING,
    Goal,
    Report,
    Run,
)

HEADER = ("target", "workload", "req/s", "p50 ms", "p99 ms", "CPU s/1k", "Redis CPU s/1k",
          "2xx %", "statuses")


def _num(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def run_row(run: Run) -> tuple[str, ...]:
    statuses = " ".join(f"{k}:{v}" for k, v in sorted(run.statuses.items()))
    if run.socket_errors:
        statuses += f" sockerr:{run.socket_errors}"
    return (run.target, run.workload, _num(run.rps, 0), _num(run.p50_ms, 2), _num(run.p99_ms, 2),
            _num(run.cpu_s_per_1k, 3), _num(run.redis_cpu_s_per_1k, 3),
            _num(run.ok_share * 100, 1), statuses)


def goal_row(goal: Goal) -> tuple[str, ...]:
    verdict = {True: "meets", False: "MISSES", None: "n/a"}[goal.passed]
    return (goal.name, _num(goal.value, 3), goal.goal, verdict, goal.detail)


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=False)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)).rstrip()
             for row in (header, tuple("-" * w for w in widths), *rows)]
    return "\n".join(lines)


MIXED_HEADER = ("mixed flow", "at once", "flows/s", "flow p50", "flow p99", "send p50",
                "delivery p50", "check p50", "CPU s/1k flows", "failures")


def mixed_row(target: str, m: dict[str, Any]) -> tuple[str, ...]:
    failures = " ".join(f"{k}:{v}" for k, v in sorted(m.get("failures", {}).items()))
    return (target, str(m.get("concurrency", "")), _num(m.get("flows_per_s"), 1),
            _num(m.get("flow_p50_ms"), 1),
            _num(m.get("flow_p99_ms"), 1), _num(m.get("send_p50_ms"), 1),
            _num(m.get("delivery_p50_ms"), 1), _num(m.get("check_p50_ms"), 1),
            _num(m.get("cpu_s_per_1k_flows"), 3), failures or "none")


REDIS_HEADER = ("Redis probe", "cmds/send", "cmds/check", "version", "record B",
                "pending index B", "core B", "dest counter B", "IP counter B/send",
                "fail counter B", "other B/send", "outbox B/job")


def redis_row(target: str, r: dict[str, Any]) -> tuple[str, ...]:
    m = r.get("memory", {})
    return (target, _num(r.get("send", {}).get("commands_per_request"), 2),
            _num(r.get("check", {}).get("commands_per_request"), 2),
            str(m.get("storage_version", "-")),
            *(_num(m.get(k), 0) for k in (
                "record_bytes", "pending_index_bytes", "core_bytes", "dest_limit_counter_bytes",
                "ip_limit_counter_bytes_per_send", "failed_checks_counter_bytes",
                "other_shared_bytes_per_send", "outbox_bytes_per_job")))


LOADED_HEADER = ("bench loader", "verifications", "record B", "pending index B", "core B")


def loaded_rows(memory: dict[str, Any]) -> list[tuple[str, ...]]:
    return [(f"storage version {version}", _num(m.get("verifications"), 0),
             _num(m.get("record_bytes"), 0), _num(m.get("pending_index_bytes"), 0),
             _num(m.get("core_bytes"), 0))
            for version in ("2", "3") if isinstance(m := memory.get(version), dict)]


PENDING_HEADER = ("pending", "workload", "1k before", "many", "1k after", "many / 1k")


def pending_rows(summary: dict[str, Any]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for workload in WORKLOADS:
        if not isinstance(s := summary.get(workload), dict):
            continue
        rps = s["rps"]
        rows.append((f"{_num(summary.get('pending'), 0)} (v{summary.get('storage_version')})",
                     workload, _num(rps.get(SERVICES_FEW_PENDING), 0),
                     _num(rps.get(SERVICES_MANY_PENDING), 0),
                     _num(rps.get(SERVICES_FEW_PENDING_AFTER), 0), _num(s.get("ratio"), 3)))
    return rows


def headline(meta: dict[str, Any]) -> str:
    text = (f"bench {meta.get('started_at', '?')}: {meta.get('duration_s', '?')}s per workload, "
            f"{meta.get('connections', '?')} connections, repeat {meta.get('repeat', 1)}, "
            f"{meta.get('pinning', '')}, Redis: {meta.get('redis', '?')}")
    if meta.get("quick"):
        text += "\nQUICK SMOKE RUN: short and noisy; do not compare these numbers"
    return text


def render(report: Report) -> str:
    parts = [headline(report.meta), table(HEADER, [run_row(r) for r in report.runs])]
    if report.goals:
        parts.append(table(("goal", "value", "goal", "verdict", "detail"),
                           [goal_row(g) for g in report.goals]))
    if report.redis:
        parts.append(table(REDIS_HEADER, [redis_row(t, r) for t, r in report.redis.items()])
                     + "\n(bytes from MEMORY USAGE; counters and outbox jobs are not in core)")
    if report.memory:
        parts.append(table(LOADED_HEADER, loaded_rows(report.memory))
                     + "\n(MEMORY USAGE SAMPLES 0 of the keys one pending verification creates, "
                       "as the bench loads them: the contract's format, no target involved)")
    pending = ratios.pending_summary(report)
    if rows := pending_rows(pending):
        parts.append(table(PENDING_HEADER, rows)
                     + "\n(requests/s, median of --repeat; many / the mean of the two 1k runs;"
                       " checks walk 1,000 verifications the services created)")
    if report.mixed:
        rows = [mixed_row(t, point)
                for t, m in report.mixed.items() for point in m.get("curve", [])]
        parts.append(table(MIXED_HEADER, [mixed_row(t, m) for t, m in report.mixed.items()])
                     + "\n(the best step of the curve; times in ms; CPU counts the app, the "
                       "dispatcher and the dev inbox, over every step)\n\n"
                     + table(MIXED_HEADER, rows) + "\n(the curve: concurrency raised until "
                       "flows/s stops growing)")
    for skipped in report.skipped:
        parts.append(f"not measured: {skipped.what}: {skipped.why}")
    return "\n\n".join(parts)


def to_json(report: Report) -> dict[str, Any]:
    return {
        "meta": report.meta,
        "runs": [{**asdict(r), "ok_share": round(r.ok_share, 4)} for r in report.runs],
        "goals": [asdict(g) for g in report.goals],
        "redis": report.redis,
        "mixed": report.mixed,
        "memory": report.memory,
        "pending": ratios.pending_summary(report),
        "skipped": [asdict(s) for s in report.skipped],
    }


def write(report: Report, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "latest.json"
    path.write_text(json.dumps(to_json(report), indent=2) + "\n")
    return path
