"""The table and the audit log on disk: atomic writes (temp + rename) and JSON-lines audit."""

from __future__ import annotations

import datetime
import getpass
import json
import os
import socket
import tempfile
from pathlib import Path
from typing import Any

from routing.table.loader import load_table
from routing.table.model import RouteTable
from routing.table.toml_writer import dumps
from routing.table.validate import validate
from routing.table.weights import weights_of, with_weights

DEFAULT_TABLE = Path("routing/routes.toml")


def table_path(explicit: str | None = None) -> Path:
    return Path(explicit or os.environ.get("ROUTING_TABLE") or DEFAULT_TABLE)


def audit_path(table: Path, explicit: str | None = None) -> Path:
    """ROUTING_AUDIT_LOG, else audit.log next to the table (routing/audit.log for the default)."""
    return Path(explicit or os.environ.get("ROUTING_AUDIT_LOG") or table.with_name("audit.log"))


def write_atomically(path: Path, text: str) -> None:
    """Readers (the gateway) see the old file or the new one, never half of one."""
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        if path.exists():
            os.chmod(temp, path.stat().st_mode & 0o777)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def save_table(path: Path, table: RouteTable) -> None:
    validate(table)  # never write a table the gateway would refuse
    write_atomically(path, dumps(table))


def who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def append_audit(log: Path, rule: str, before: dict[str, int], after: dict[str, int],
                 command: str, **details: Any) -> dict[str, Any]:
    """One JSON line: who, when, rule, from, to, command (shift, rollback, plan-start,
    plan-step, plan-verdict, plan-hook, plan-rollback, plan-complete, plan-abort, ...) and the
    command's details (a plan's steps, a verdict's numbers, a hook's exit code)."""
    entry: dict[str, Any] = {
        "who": who(), "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "rule": rule, "from": before, "to": after, "command": command, **details}
    with log.open("a", encoding="utf-8") as out:
        out.write(json.dumps(entry) + "\n")
    return entry


def read_audit(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]


def last_change(log: Path, rule: str) -> dict[str, Any] | None:
    entries = [e for e in read_audit(log) if e.get("rule") == rule]
    return entries[-1] if entries else None


def change_weights(table_file: Path, audit_log: Path, rule: str, weights: dict[str, int],
                   command: str, **details: Any) -> dict[str, int]:
    """Write the new weights (atomically) and log who changed what; returns the old weights."""
    table = load_table(table_file)
    before = weights_of(table, rule)
    save_table(table_file, with_weights(table, rule, weights))
    append_audit(audit_log, rule, before, weights, command, **details)
    return before


UNDOABLE = ("shift", "plan-start")
"""What `rollback` undoes: the latest shift or plan of the rule (a plan as a whole)."""


def last_undoable(log: Path, rule: str) -> dict[str, Any] | None:
    entries = [e for e in read_audit(log) if e.get("rule") == rule
               and e.get("command") in UNDOABLE]
    return entries[-1] if entries else None
