"""The fuzzer as a test: --diff-a against --diff-b, a fixed number of examples, a fixed seed.

    pytest contract_tests/differential/test_fuzz.py --inbox-url http://127.0.0.1:8025 \
        --diff-a http://127.0.0.1:8001 --diff-b send=http://127.0.0.1:8002,\
    check=http://127.0.0.1:8003 --redis-url redis://127.0.0.1:6379/0 --fuzz-examples 300
"""

from __future__ import annotations

import os

import pytest

from contract_tests.differential.fuzz import FuzzConfig, run_fuzz
from contract_tests.options import api_key, option
from contract_tests.policy import Policy

DEFAULT_EXAMPLES = 300


def _setting(config: pytest.Config, name: str, env: str) -> str | None:
    value = config.getoption(name) or os.environ.get(env)
    return str(value) if value is not None else None


@pytest.mark.timeout(1800)
def test_random_sequences_answer_the_same(pytestconfig: pytest.Config) -> None:
    a, b = option(pytestconfig, "diff-a"), option(pytestconfig, "diff-b")
    if not a or not b:
        pytest.skip("the fuzzer needs --diff-a and --diff-b (or CONTRACT_DIFF_A/B)")
    key, key_b = api_key(pytestconfig, "api-key"), api_key(pytestconfig, "api-key-b")
    if not key_b:
        pytest.fail("the fuzzer acts as two clients: give --api-key-b (or CONTRACT_API_KEY_B), "
                    "a key of another client than --api-key's", pytrace=False)
    examples = int(_setting(pytestconfig, "--fuzz-examples", "CONTRACT_FUZZ_EXAMPLES")
                   or DEFAULT_EXAMPLES)
    seed = _setting(pytestconfig, "--fuzz-seed", "CONTRACT_FUZZ_SEED")
    config = FuzzConfig.from_specs(
        a, b, option(pytestconfig, "inbox"),
        _setting(pytestconfig, "--redis-url", "CONTRACT_REDIS_URL"), Policy.from_env(),
        key, key_b,
        delivery_timeout=float(os.environ.get("CONTRACT_DELIVERY_TIMEOUT", "10")))
    report = run_fuzz(config, examples, int(seed) if seed is not None else None)
    print(report.summary())
    assert report.reproduction is None, report.summary()
    assert not report.stale, report.summary()
