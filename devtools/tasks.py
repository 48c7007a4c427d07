"""The dev tasks: lint, test, run."""

from __future__ import annotations

import subprocess
import sys
import time

LINTED = ["monolith", "services", "routing", "infra", "contract_tests", "devtools", "devinbox",
          "tests", "scripts", "bench"]


def _step(title: str, argv: list[str]) -> int:
    print(f"\n== {title}: {' '.join(argv)}", flush=True)
    started = time.monotonic()
    code = subprocess.call(argv)
    print(f"== {title}: {'ok' if code == 0 else f'FAILED ({code})'} "
          f"in {time.monotonic() - started:.1f}s", flush=True)
    return code


def _existing(paths: list[str]) -> list[str]:
    from pathlib import Path

    return [p for p in paths if Path(p).exists()]


def lint() -> int:
    targets = _existing(LINTED)
    code = _step("ruff", [sys.executable, "-m", "ruff", "check", *targets])
    return code or _step("mypy", [sys.executable, "-m", "mypy", *targets])


def test(pytest_args: list[str]) -> int:
    """Lint, then every test: unit, integration and end-to-end, then the contract suite."""
    if pytest_args:
        return _step("pytest", [sys.executable, "-m", "pytest", *pytest_args])
    code = lint()
    if code:
        return code
    return _step("pytest", [sys.executable, "-m", "pytest", "tests"])


def run(args: list[str]) -> int:
    from devtools import runner

    return runner.main(args)
