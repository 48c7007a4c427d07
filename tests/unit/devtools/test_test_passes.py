"""`./dev test --only-redis-dependent` (the second pass of .ci/run): which contract targets and
tests it runs, and the testcontainers stage's row where docker cannot run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devtools import contract, tasks
from devtools.processes import REPO_ROOT
from devtools.redis_server import USES_REDIS
from devtools.results import summary

URLS = {"monolith": "http://m", "send": "http://s", "verify": "http://v", "gateway": "http://g",
        "gateway-50": "http://g50", "gateway-100": "http://g100", "redis-url": "redis://r/0"}
DIRECT = ["monolith", "services", "cross-monolith-send", "cross-services-send"]


def test_the_redis_pass_runs_the_targets_where_the_sides_meet_redis_directly() -> None:
    assert [t.name for t in contract.suite_targets(URLS, redis_dependent_only=True)] == DIRECT
    assert [t.name for t in contract.targets(URLS, redis_dependent_only=True)] == [
        *DIRECT, "differential monolith/services"]


def test_the_full_pass_runs_every_target_and_the_fuzzer_first() -> None:
    names = [t.name for t in contract.targets(URLS)]
    assert names[0] == "fuzz monolith/services" and names[-1] == "differential monolith/services"
    assert set(DIRECT) < set(names)
    assert {n for n in names if n.startswith("gateway")} == {
        "gateway 0%", "gateway 50%", "gateway 100%", "gateway pinned monolith",
        "gateway pinned services"}


def test_the_redis_pass_has_no_containers_phase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contract, "containers_phase",
                        lambda: pytest.fail("the containers phase ran"))
    assert contract.run_all(phases=("containers",), redis_dependent_only=True) == []


def collected(*args: str) -> set[str]:
    output = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout
    return {line for line in output.splitlines() if "::" in line}


def test_uses_redis_marks_the_tests_that_reach_the_session_redis_through_any_fixture() -> None:
    marked = collected("tests/integration/dispatcher", "-m", USES_REDIS)
    everything = collected("tests/integration/dispatcher")
    # Through redis_client (which takes redis_url), and not a test that starts its own server.
    assert any("test_dispatcher_delivery.py" in t for t in marked)
    own = {t for t in everything
           if "test_dispatcher_resilience.py::test_redis_outage_is_survived" in t
           or "test_dispatcher_redis_full.py" in t}
    assert len(own) == 3 and not own & marked
    assert marked < everything


def test_only_redis_dependent_takes_no_other_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert tasks.test([tasks.ONLY_REDIS_DEPENDENT, "-k", "x"]) == 2
    assert "takes no other arguments" in capsys.readouterr().err


@pytest.fixture
def no_docker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))


@pytest.mark.usefixtures("no_docker")
def test_without_docker_the_testcontainers_stage_says_skipped_and_why(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KIT_REQUIRE_DOCKER", raising=False)
    row = tasks.redis_in_container()
    assert row.ok and "docker is not installed" in row.skip_reason
    assert "skipped: docker is not installed" in summary([row])


@pytest.mark.usefixtures("no_docker")
def test_without_docker_under_kit_require_docker_the_testcontainers_stage_fails(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIT_REQUIRE_DOCKER", "1")
    row = tasks.redis_in_container()
    assert not row.ok and "KIT_REQUIRE_DOCKER=1 but docker is not installed" in row.note
