"""Running a step as a subprocess and counting its outcome (pytest through its JUnit XML)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from devtools.processes import REPO_ROOT

NO_TESTS_COLLECTED = 5  # pytest's exit code; a stage that ran nothing has failed


@dataclass
class Result:
    name: str
    exit_code: int
    passed: int | None = None
    failed: int | None = None
    skipped: int | None = None
    seconds: float = 0.0
    note: str = ""
    # Set when the stage did not run here at all (why not): shown as skipped, never as passed.
    skip_reason: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.failed


def run_step(name: str, argv: Sequence[str], env: Mapping[str, str] | None = None,
             buffered: bool = False) -> Result:
    """Run one stage; `buffered` holds its output until it ends (for stages run side by side)."""
    header = f"\n== {name}: {' '.join(argv)}"
    if not buffered:
        print(header, flush=True)
    started = time.monotonic()
    with tempfile.TemporaryFile() as output:
        code = subprocess.call(list(argv), env=dict(env) if env is not None else None,
                               cwd=REPO_ROOT, stdout=output if buffered else None,
                               stderr=subprocess.STDOUT if buffered else None)
        result = Result(name, code, seconds=time.monotonic() - started)
        footer = f"== {name}: {'ok' if code == 0 else f'FAILED ({code})'} in {result.seconds:.1f}s"
        if buffered:
            output.seek(0)
            text = output.read().decode("utf-8", "replace")
            footer = f"{header}\n{text}{footer}"
    print(footer, flush=True)
    return result


def run_pytest(name: str, args: Sequence[str], env: Mapping[str, str] | None = None,
               buffered: bool = False) -> Result:
    with tempfile.TemporaryDirectory(prefix="kit-junit-") as tmp:
        report = Path(tmp) / "report.xml"
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                f"--junitxml={report}", *args]
        result = run_step(name, argv, env, buffered)
        if report.exists():
            _count(result, report)
    if result.exit_code == NO_TESTS_COLLECTED:
        result.note = "no tests ran"
    return result


def junit_suites(report: Path) -> list[ElementTree.Element]:
    # A pytest run of ours wrote this file (here or in the contract workflow); not untrusted input.
    root = ElementTree.parse(report).getroot()  # noqa: S314
    return [root] if root.tag == "testsuite" else list(root.iter("testsuite"))


def junit_counts(report: Path) -> tuple[int, int, int]:
    """(passed, failed, skipped) of a pytest JUnit XML file; errors count as failed."""
    suites = junit_suites(report)
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return total - failed - skipped, failed, skipped


def _count(result: Result, report: Path) -> None:
    result.passed, result.failed, result.skipped = junit_counts(report)


def summary(results: Sequence[Result]) -> str:
    rows = [("stage", "passed", "failed", "skipped", "time", "result")]
    for r in results:
        def show(n: int | None) -> str:
            return "-" if n is None else str(n)

        failed = f"FAILED (exit {r.exit_code}){' ' + r.note if r.note else ''}"
        verdict = (failed if not r.ok else f"skipped: {r.skip_reason}" if r.skip_reason
                   else "ok")
        rows.append((r.name, show(r.passed), show(r.failed), show(r.skipped),
                     f"{r.seconds:.0f}s", verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])
