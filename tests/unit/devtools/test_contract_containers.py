"""The contract stage's containers phase: when it runs, and the row it gives when it cannot."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools import contract
from devtools.results import summary


def test_with_redis_url_set_the_phase_gives_no_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/15")
    assert contract.containers_phase() == []


@pytest.fixture
def no_docker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A PATH without docker: the phase cannot run here."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))


@pytest.mark.usefixtures("no_docker")
def test_without_docker_the_phase_is_one_row_saying_skipped_and_why(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KIT_REQUIRE_DOCKER", raising=False)
    [row] = contract.containers_phase()
    assert row.ok and "docker is not installed" in row.skip_reason
    assert "skipped: docker is not installed" in summary([row])
    assert " ok" not in summary([row]).splitlines()[-1]


@pytest.mark.usefixtures("no_docker")
def test_without_docker_under_kit_require_docker_the_phase_fails(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIT_REQUIRE_DOCKER", "1")
    [row] = contract.containers_phase()
    assert not row.ok and not row.skip_reason
    assert "KIT_REQUIRE_DOCKER=1 but docker is not installed" in row.note
    assert "FAILED" in summary([row])


def test_the_targets_are_both_gateways_and_the_0_percent_one_pinned_to_each_side() -> None:
    found = contract.container_targets(lambda instance: f"http://{instance}:1")
    assert {t.name: t.args for t in found} == {
        "gateway 0%": ("--base-url", "http://gateway-0:1"),
        "gateway 100%": ("--base-url", "http://gateway-100:1"),
        "gateway pinned monolith": ("--base-url", "http://gateway-0:1",
                                    "--header", "X-Backend: monolith"),
        "gateway pinned services": ("--base-url", "http://gateway-0:1",
                                    "--header", "X-Backend: services"),
    }
