"""Atomic table writes and the JSON-lines audit log."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from routing.table import store
from routing.table.loader import load_table
from routing.table.problems import TableError
from routing.table.weights import with_weights

SHIPPED = Path(__file__).parent / "tables" / "shipped.toml"


def test_save_replaces_the_file_in_one_rename_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "routes.toml"
    path.write_text(SHIPPED.read_text())
    inode = path.stat().st_ino
    table = with_weights(load_table(path), "verifications", {"monolith": 90, "send": 10})
    store.save_table(path, table)
    assert path.stat().st_ino != inode  # a new file renamed over the old one
    assert load_table(path).action_of("verifications") == table.action_of("verifications")
    assert os.listdir(tmp_path) == ["routes.toml"]


def test_save_refuses_an_invalid_table_and_keeps_the_file(tmp_path: Path) -> None:
    path = tmp_path / "routes.toml"
    path.write_text(SHIPPED.read_text())
    before = path.read_text()
    with pytest.raises(KeyError):
        with_weights(load_table(path), "verifications", {"monolith": 1, "verify": 1})
    bad = with_weights(load_table(path), "verifications", {"monolith": 1000, "send": 0})
    with pytest.raises(TableError, match=r"'verifications': action\.weights\.monolith"):
        store.save_table(path, bad)
    assert path.read_text() == before


def test_audit_entries_are_json_lines_with_who_when_rule_from_to(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    store.append_audit(log, "verifications", {"monolith": 100, "send": 0},
                       {"monolith": 75, "send": 25}, "shift")
    store.append_audit(log, "other", {"a": 1}, {"a": 2}, "shift")
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines[0]["rule"] == "verifications" and lines[0]["to"] == {"monolith": 75, "send": 25}
    assert "@" in lines[0]["who"] and lines[0]["when"].endswith("+00:00")
    last = store.last_change(log, "verifications")
    assert last is not None and last["from"] == {"monolith": 100, "send": 0}


def test_audit_path_defaults_next_to_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROUTING_AUDIT_LOG", raising=False)
    assert store.audit_path(store.DEFAULT_TABLE) == Path("routing/audit.log")
    assert store.audit_path(SHIPPED) == SHIPPED.with_name("audit.log")
    monkeypatch.setenv("ROUTING_AUDIT_LOG", "elsewhere/x.log")
    assert store.audit_path(SHIPPED) == Path("elsewhere/x.log")
