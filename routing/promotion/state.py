"""A plan's run, persisted next to the route table (`.promotions/RULE.json`), so that a killed
CLI can `promote --resume` or `abort` it, `pause` / `resume` reach it from another terminal, and
the gateway's status page shows it. Written atomically; the running CLI re-reads it between
polls. JSON shape: the fields of Run (docs/promotion.md)."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from routing.table.store import write_atomically

Status = Literal["running", "paused", "inconclusive", "failed", "aborted", "completed"]
FINISHED: tuple[Status, ...] = ("failed", "aborted", "completed")
STATE_DIR = ".promotions"


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def state_dir(table: Path) -> Path:
    return table.parent / STATE_DIR


def state_path(table: Path, rule: str) -> Path:
    return state_dir(table) / f"{rule}.json"


@dataclass
class Run:
    rule: str
    to: str
    steps: list[dict[str, Any]]  # [{"weight": 10, "bake_s": 300.0}, ...]
    original_weights: dict[str, int]  # the rule's weights before the plan: where failure goes
    front_door: str  # "gateway http://127.0.0.1:8080", "alb arn:aws:...", or "table only"
    who: str
    started: str = field(default_factory=now_iso)
    status: Status = "running"
    step: int = 0  # index into steps of the step being applied or baked
    step_started: str | None = None  # when the current bake's window opened
    message: str = ""  # the latest line of progress or why it stopped
    pid: int = field(default_factory=os.getpid)
    updated: str = field(default_factory=now_iso)
    verdicts: list[dict[str, Any]] = field(default_factory=list)  # {step, weight, when, ...}
    hooks: list[dict[str, Any]] = field(default_factory=list)  # {step, name, exit_code, ...}

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Run:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def save(table: Path, run: Run) -> None:
    run.updated = now_iso()
    path = state_path(table, run.rule)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(run.to_json(), indent=1) + "\n")


def load(table: Path, rule: str) -> Run | None:
    path = state_path(table, rule)
    try:
        return Run.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None


Request = Literal["pause", "resume", "abort"]


def request_path(table: Path, rule: str) -> Path:
    """Another terminal's request to the running CLI; a file of its own, so the running CLI's
    writes of the state never overwrite it."""
    return state_dir(table) / f"{rule}.request"


def send_request(table: Path, rule: str, request: Request) -> None:
    path = request_path(table, rule)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, request + "\n")


def take_request(table: Path, rule: str) -> Request | None:
    path = request_path(table, rule)
    try:
        text = path.read_text(encoding="utf-8").strip()
        path.unlink()
    except FileNotFoundError:
        return None
    return text if text in ("pause", "resume", "abort") else None  # type: ignore[return-value]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def load_all(directory: Path) -> list[Run]:
    """Every run in a state directory (the gateway's status page), newest first; unreadable
    files are skipped (a writer replaces files atomically, so that is only a foreign file)."""
    runs = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            runs.append(Run.from_json(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError):
            continue
    return sorted(runs, key=lambda r: r.updated, reverse=True)
