"""Templates rendered once per session from the frozen shipped route table (a test fixture)."""

from __future__ import annotations

import json
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
