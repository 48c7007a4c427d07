"""Options of the fuzzer's pytest entry (test_fuzz.py); --diff-a/--diff-b and --inbox-url are the
suite's own (contract_tests/conftest.py)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fuzz", "stateful differential fuzzing (differential/fuzz.py)")
    group.addoption("--fuzz-examples", type=int, default=None,
                    help="sequences to try (env CONTRACT_FUZZ_EXAMPLES, default 300)")
    group.addoption("--fuzz-seed", type=int, default=None,
                    help="a seed (env CONTRACT_FUZZ_SEED; default: derandomized)")
    group.addoption("--redis-url", default=None,
                    help="the shared Redis, to compare vfy:events (env CONTRACT_REDIS_URL)")
