"""Run SCENARIO against --diff-a and --diff-b and compare each step after the noise rules.

    pytest contract_tests/differential --inbox-url http://127.0.0.1:8025 \
        --diff-a http://127.0.0.1:8001 --diff-b send=http://127.0.0.1:8002,\
    check=http://127.0.0.1:8003,users=http://127.0.0.1:8001
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from contract_tests.client import http_client
from contract_tests.differential.compare import differences, normalise, parse_target
from contract_tests.differential.noise import Normaliser
from contract_tests.differential.scenario import Run
from contract_tests.differential.steps import SCENARIO, Step
from contract_tests.inbox import Inbox
from contract_tests.options import api_key, option
from contract_tests.policy import Policy

Views = dict[str, dict[str, Any]]


def _play(spec: str, inbox_url: str | None, policy: Policy, key: str | None) -> Views:
    urls, headers = parse_target(spec, inbox_url, key)
    delivery_timeout = float(os.environ.get("CONTRACT_DELIVERY_TIMEOUT", "10"))
    with http_client() as http:
        run = Run(urls, http, Inbox(urls.inbox, http, delivery_timeout),
                  policy.resend_cooldown_seconds, extra_headers=headers)
        exchanges = [run.play(step) for step in playable(policy)]
        normaliser = Normaliser(run.destinations())
        return {e.step: normalise(e, normaliser) for e in exchanges}


def playable(policy: Policy) -> list[Step]:
    too_long = policy.resend_cooldown_seconds + 0.3 > policy.max_wait_seconds
    return [s for s in SCENARIO if not (s.wait_cooldown_first and too_long)]


@pytest.fixture(scope="module")
def runs(pytestconfig: pytest.Config) -> Iterator[tuple[Views, Views]]:
    a, b = option(pytestconfig, "diff-a"), option(pytestconfig, "diff-b")
    if not a or not b:
        pytest.skip("differential mode needs --diff-a and --diff-b (or CONTRACT_DIFF_A/B)")
    inbox, policy = option(pytestconfig, "inbox"), Policy.from_env()
    key = api_key(pytestconfig, "api-key")  # the same key on both sides
    yield _play(a, inbox, policy, key), _play(b, inbox, policy, key)


@pytest.mark.parametrize("step", [s.name for s in SCENARIO])
def test_step_answers_the_same(runs: tuple[Views, Views], step: str) -> None:
    view_a, view_b = runs[0].get(step), runs[1].get(step)
    if view_a is None or view_b is None:
        pytest.skip(f"step {step!r} waits for the resend cooldown; lower "
                    "VERIFY_RESEND_COOLDOWN_SECONDS to include it")
    diff = differences(view_a, view_b)
    assert not diff, f"step {step!r} differs between A and B:\n" + "\n".join(diff)


def test_every_step_ran_and_statuses_are_plausible(runs: tuple[Views, Views]) -> None:
    """A guard against two equally broken targets: no 5xx anywhere in either run."""
    for label, views in zip("AB", runs, strict=True):
        errors = {step: v["status"] for step, v in views.items() if v["status"] >= 500}
        assert not errors, f"target {label} answered 5xx: {errors}"
