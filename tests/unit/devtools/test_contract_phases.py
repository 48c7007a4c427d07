"""The contract stage's two phases: which tests each runs, and what fails the shared-limits one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from contract_tests.policy import Policy
from devtools import contract
from devtools.components import LIMITS_PROFILE
from devtools.processes import REPO_ROOT
from devtools.results import run_pytest

SHARED_LIMIT_TESTS = {
    "contract_tests/test_clients.py::test_per_client_send_limit",
    "contract_tests/test_sms_guards.py::test_circuit_breaker_caps_sms_in_all",
}


def collected(marker_expression: str) -> set[str]:
    output = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         contract.SUITE, f"--ignore={contract.DIFFERENTIAL}", "-m", marker_expression],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    return {line for line in output.splitlines() if "::" in line}


def test_the_shared_limit_tests_run_in_the_limits_phase_only() -> None:
    assert collected(contract.SHARED_LIMITS) == SHARED_LIMIT_TESTS
    main = collected(f"not {contract.SHARED_LIMITS}")
    assert len(main) > 100 and not main & SHARED_LIMIT_TESTS


def test_a_skipped_test_fails_a_target_of_the_limits_phase(tmp_path: Path) -> None:
    (tmp_path / "test_one.py").write_text(
        "import os, pytest\n\n"
        "def test_limit():\n"
        "    if os.environ.get('SKIP_IT'):\n"
        "        pytest.skip('needs 2000001 requests')\n")
    ran = contract.must_not_skip(run_pytest("ran", [str(tmp_path)]))
    assert ran.ok and (ran.passed, ran.skipped) == (1, 0)
    skipped = contract.must_not_skip(run_pytest("skipped", [str(tmp_path)],
                                                {**os.environ, "SKIP_IT": "1"}))
    assert not skipped.ok and skipped.skipped == 1 and "1 skipped" in skipped.note


def test_the_limits_profile_lets_the_breaker_refuse_before_the_client_limit() -> None:
    """The circuit breaker's test sends as one client up to 2 * (limit + 1) SMS and an email
    within one client window: the client limit must stay above that, or it refuses first."""
    policy = Policy.from_env(LIMITS_PROFILE)
    assert policy.client_send_limit > 2 * (policy.sms_global_limit + 1) + 1
    assert max(policy.client_window_seconds, policy.sms_global_window_seconds) <= 5
