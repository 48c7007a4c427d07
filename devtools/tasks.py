"""The dev tasks: lint, test, run."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from devtools.results import Result, run_pytest, run_step, summary

LINTED = ["monolith", "services", "routing", "infra", "contract_tests", "devtools", "devinbox",
          "kit", "tests", "scripts", "bench"]


def _existing(paths: list[str]) -> list[str]:
    return [p for p in paths if Path(p).exists()]


def lint_results() -> list[Result]:
    targets = _existing(LINTED)
    return [
        run_step("lint: ruff", [sys.executable, "-m", "ruff", "check", *targets]),
        run_step("lint: mypy", [sys.executable, "-m", "mypy", *targets]),
    ]


def lint() -> int:
    return 0 if all(r.ok for r in lint_results()) else 1


def test(pytest_args: list[str]) -> int:
    """Lint, every test under tests/, then the contract suite against each target.

    With arguments, only `pytest ARGS`. Every stage runs even after a failure, so one run shows
    everything that is wrong; the exit status is non-zero when anything failed.
    """
    if pytest_args:
        return run_step("pytest", [sys.executable, "-m", "pytest", *pytest_args]).exit_code
    from devtools import contract

    started = time.monotonic()
    results = lint_results()
    results.append(run_pytest("pytest tests", ["tests"]))
    results += contract.run_all()
    print(f"\n== summary ({time.monotonic() - started:.0f}s)\n{summary(results)}", flush=True)
    failed = [r.name for r in results if not r.ok]
    if failed:
        print(f"\n./dev test FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("\n./dev test: everything passed")
    return 0


def contract(phases: list[str]) -> int:
    """Just the contract stage: its phases named (`main`, `limits`, `containers`), else all."""
    from devtools import contract as stage

    unknown = [p for p in phases if p not in stage.PHASES]
    if unknown:
        print(f"./dev contract: unknown phase {', '.join(unknown)} (phases: "
              f"{', '.join(stage.PHASES)})", file=sys.stderr)
        return 2
    started = time.monotonic()
    results = stage.run_all(phases=phases or tuple(stage.PHASES))
    print(f"\n== summary ({time.monotonic() - started:.0f}s)\n{summary(results)}", flush=True)
    return 0 if all(r.ok for r in results) else 1


def run(args: list[str]) -> int:
    from devtools import runner

    return runner.main(args)
