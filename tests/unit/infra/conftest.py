"""Templates rendered once per session from the frozen shipped route table (a test fixture)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra import stacks

FROZEN_ROUTES = Path(__file__).parents[1] / "routing" / "tables" / "shipped.toml"


@pytest.fixture(scope="session")
def rendered() -> dict[str, str]:
    """Stack name -> template JSON text, exactly as `python -m infra build` writes it."""
    return {name: stacks.render(t) for name, t in stacks.build_all(FROZEN_ROUTES).items()}


@pytest.fixture(scope="session")
def templates(rendered: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {name: json.loads(text) for name, text in rendered.items()}


SUMMARY_LINES = pytest.StashKey[list[str]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[SUMMARY_LINES] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = terminalreporter.config.stash.get(SUMMARY_LINES, [])
    if lines:
        terminalreporter.section("infra scanners")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def report(pytestconfig: pytest.Config,
           record_property: Callable[[str, object], None]) -> Callable[[str, object], None]:
    """Show a scanner's numbers in the terminal summary (whatever -q or -s) and in the JUnit
    report."""

    def record(name: str, value: object) -> None:
        pytestconfig.stash[SUMMARY_LINES].append(f"{name}: {value}")
        record_property(name, value)

    return record
