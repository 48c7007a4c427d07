"""How the tests choose a cluster (REDIS_CLUSTER=1, devtools/redis_server.py and tests/conftest.py):
the flag read as the apps read it, a database refused, and the single_node marker's skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.redis_server import RedisChoiceError, cluster_mode, refuse_database_in_cluster

ROOT = Path(__file__).resolve().parents[3]
SINGLE_NODE_TEST = ("tests/integration/devtools/test_session_redis.py::"
                    "test_a_single_node_test_runs_on_a_single_node")


@pytest.mark.parametrize(("raw", "expected"), [
    ("", False), ("0", False), ("no", False), ("1", True), ("true", True), (" YES ", True)])
def test_redis_cluster_is_read_as_both_sides_read_it(raw: str, expected: bool) -> None:
    assert cluster_mode({"REDIS_CLUSTER": raw}) is expected


def test_a_redis_cluster_value_that_is_no_flag_is_refused() -> None:
    with pytest.raises(RedisChoiceError, match="set it to 1 or leave it unset"):
        cluster_mode({"REDIS_CLUSTER": "cluster"})


def test_a_cluster_url_naming_a_database_is_refused_with_what_to_do() -> None:
    refuse_database_in_cluster("redis://127.0.0.1:7000")
    refuse_database_in_cluster("redis://127.0.0.1:7000/0")
    with pytest.raises(RedisChoiceError, match=r"names database 15.*without /N"):
        refuse_database_in_cluster("redis://127.0.0.1:6379/15")


def test_a_single_node_test_is_skipped_with_its_reason_in_cluster_mode() -> None:
    # Skipped at collection: no Redis is started (the skipped test's fixtures never run).
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", SINGLE_NODE_TEST],
        cwd=ROOT, env={**env, "REDIS_CLUSTER": "1"}, capture_output=True, text=True,
        timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 skipped" in run.stdout
    assert "single node only (SELECT of another database): REDIS_CLUSTER=1" in run.stdout
