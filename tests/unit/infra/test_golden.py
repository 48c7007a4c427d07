"""The generated templates match the reviewed goldens in golden/ byte for byte.

After an intended change: UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/infra/test_golden.py
then review the diff of tests/unit/infra/golden/ like code.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from infra import stacks

from .conftest import FROZEN_ROUTES

GOLDEN_DIR = Path(__file__).parent / "golden"

UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize("name", stacks.STACK_ORDER)
def test_template_matches_golden(name: str, rendered: dict[str, str]) -> None:
    golden = GOLDEN_DIR / f"{name}.json"
    if UPDATE:
        golden.write_text(rendered[name], encoding="utf-8")
    assert golden.exists(), f"no golden for {name}: run with UPDATE_GOLDEN=1 and review it"
    assert rendered[name] == golden.read_text(encoding="utf-8"), (
        f"{name} template differs from {golden}; if intended, regenerate with UPDATE_GOLDEN=1 "
        "and review the diff")


def test_rendering_is_deterministic() -> None:
    first = {n: stacks.render(t) for n, t in stacks.build_all(FROZEN_ROUTES).items()}
    second = {n: stacks.render(t) for n, t in stacks.build_all(FROZEN_ROUTES).items()}
    assert first == second


@pytest.mark.parametrize("name", stacks.STACK_ORDER)
def test_the_deployed_template_fits_a_cloudformation_template_body(name: str) -> None:
    """deploy.sh deploys the compact rendering (no S3 bucket): it must stay under the limit."""
    template = stacks.build_all(FROZEN_ROUTES)[name]
    assert len(stacks.render(template, compact=True).encode()) < stacks.TEMPLATE_BODY_LIMIT
