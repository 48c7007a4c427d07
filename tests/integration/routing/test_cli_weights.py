"""`python -m routing` show / check / shift / rollback / render and the audit log."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from routing.cli.main import main
from routing.table.loader import load_table
from routing.table.weights import weights_of


def run(table: Path, *args: str) -> int:
    return main(["--table", str(table), *args])


def test_shift_then_rollback_with_an_audit_trail(table_file: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    audit = table_file.with_name("audit.log")
    assert run(table_file, "shift", "verifications", "--to", "send", "25") == 0
    assert weights_of(load_table(table_file), "verifications") == {"monolith": 75, "send": 25}
    assert run(table_file, "shift", "verifications", "--to", "send", "60") == 0
    entries = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(e["rule"], e["from"], e["to"]) for e in entries] == [
        ("verifications", {"monolith": 100, "send": 0}, {"monolith": 75, "send": 25}),
        ("verifications", {"monolith": 75, "send": 25}, {"monolith": 40, "send": 60})]
    assert all("@" in e["who"] and "T" in e["when"] for e in entries)
    assert run(table_file, "rollback", "verifications") == 0
    assert weights_of(load_table(table_file), "verifications") == {"monolith": 75, "send": 25}
    assert "(undid the shift to {'monolith': 40, 'send': 60} by " in capsys.readouterr().out
    assert json.loads(audit.read_text().splitlines()[-1])["command"] == "rollback"
    # A plan started after the shift is what the next rollback undoes, as a whole.
    assert run(table_file, "promote", "verifications", "--to", "send", "--steps", "10,30",
               "--pause", "0.2") == 3  # no gateway, no evidence: held at its first step
    assert weights_of(load_table(table_file), "verifications") == {"monolith": 90, "send": 10}
    assert run(table_file, "abort", "verifications") == 0
    assert run(table_file, "shift", "verifications", "--to", "send", "20") == 0
    assert run(table_file, "rollback", "verifications") == 0
    assert weights_of(load_table(table_file), "verifications") == {"monolith": 75, "send": 25}


def test_shift_refusals_name_the_problem(table_file: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    before = table_file.read_text()
    assert run(table_file, "shift", "verifications", "--to", "verify", "10") == 1
    assert "'verify' is not in this rule's forward action" in capsys.readouterr().err
    assert run(table_file, "shift", "nope", "--to", "send", "10") == 1
    assert "no rule named 'nope'" in capsys.readouterr().err
    assert run(table_file, "rollback", "verification-checks") == 1
    assert "nothing to roll back" in capsys.readouterr().err
    assert table_file.read_text() == before
    assert not table_file.with_name("audit.log").exists()


def test_shift_the_default_action(table_file: Path) -> None:
    text = table_file.read_text().replace("weights = { monolith = 1 } }\n\n[target_groups",
                                          "weights = { monolith = 1, send = 0 } }\n\n"
                                          "[target_groups", 1)
    table_file.write_text(text)
    assert run(table_file, "shift", "default", "--to", "send", "10") == 0
    assert load_table(table_file).default_action.weight_map() == {  # type: ignore[union-attr]
        "monolith": 90, "send": 10}


def test_check_show_and_render_as_a_user_runs_them(table_file: Path, tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "routing", "--table", str(table_file),
                               *args], capture_output=True, text=True, timeout=60)

    assert "ok (5 rules, 3 target groups)" in cli("check").stdout
    shown = cli("show").stdout
    assert "verifications" in shown and "monolith 100 (100%), send 0 (0%)" in shown
    out = tmp_path / "rules.json"
    assert cli("render", "-o", str(out)).returncode == 0
    assert json.loads(out.read_text())["Resources"]["VerificationsRule"]["Properties"][
        "Priority"] == 10
    table_file.write_text(table_file.read_text().replace("priority = 20", "priority = 50001"))
    broken = cli("check")
    assert broken.returncode == 1
    assert "rule 'verification-checks': priority: 50001 is outside 1..50000" in broken.stderr


def test_check_warns_about_shadowed_rules(table_file: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    table_file.write_text(table_file.read_text().replace('"/api/verification-checks*"]',
                                                         '"/api/verifications*"]'))
    assert run(table_file, "check") == 0
    out = capsys.readouterr().out
    assert "warning: rule 'verification-checks' (priority 20) can never match" in out
