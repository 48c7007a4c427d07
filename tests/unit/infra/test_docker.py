"""The Dockerfile's per-process targets and the compose file agree with infra.components."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # (no stubs in the dev dependencies)

from infra.components import COMPONENTS, IMAGE_COMPONENTS, Component, by_name
from infra.compose import render

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = (ROOT / "infra" / "docker" / "Dockerfile").read_text(encoding="utf-8")


def stages() -> dict[str, str]:
    """Stage name -> its instructions (continuation lines joined)."""
    text = DOCKERFILE.replace("\\\n", " ")
    parts = re.split(r"^FROM .* AS (\S+)$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def instruction(stage: str, keyword: str) -> str:
    [line] = [ln for ln in stages()[stage].splitlines() if ln.startswith(keyword + " ")]
    return line[len(keyword) + 1:].strip()


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "infra" / "compose.yaml").read_text())
    return loaded


def test_base_image_is_an_argument_with_the_slim_default() -> None:
    assert "ARG BASE_IMAGE=python:3.11-slim" in DOCKERFILE.splitlines()
    assert "ARG BUILDER_IMAGE=${BASE_IMAGE}" in DOCKERFILE.splitlines()
    froms = [line for line in DOCKERFILE.splitlines() if line.startswith("FROM ")]
    assert froms[:2] == ["FROM ${BUILDER_IMAGE} AS builder", "FROM ${BASE_IMAGE} AS runtime"]
    assert all(line.startswith("FROM runtime AS") for line in froms[2:])


def test_dependencies_come_hash_checked_from_the_wheelhouse_and_pip_leaves() -> None:
    builder = stages()["builder"]
    assert "COPY wheelhouse /wheelhouse" in builder
    for flag in ("--no-index", "--find-links /wheelhouse", "--require-hashes",
                 "-r /wheelhouse/requirements.txt"):
        assert flag in builder
    assert "pip uninstall --yes pip setuptools" in builder
    assert "pip" not in stages()["runtime"].replace("PIP_", "")


def test_runtime_runs_as_a_numeric_non_root_user() -> None:
    user = instruction("runtime", "USER")
    assert re.fullmatch(r"[1-9]\d+:[1-9]\d+", user)


@pytest.mark.parametrize("component", IMAGE_COMPONENTS, ids=lambda c: c.name)
def test_each_process_has_a_target_with_its_command_and_healthcheck(component: Component) -> None:
    assert json.loads(instruction(component.name, "CMD")) == list(component.argv())
    health = instruction(component.name, "HEALTHCHECK")
    probe = f"http://127.0.0.1:{component.port}{component.readiness}" if component.is_web \
        else "redis"
    assert health.endswith(json.dumps(["python", "/app/healthcheck.py", probe]))
    expose = [ln for ln in stages()[component.name].splitlines() if ln.startswith("EXPOSE")]
    ports = [component.port, *component.extra_ports.values()] if component.is_web else []
    assert expose == ([f"EXPOSE {' '.join(map(str, ports))}"] if ports else [])


def test_every_image_target_is_a_declared_component() -> None:
    images = set(stages()) - {"builder", "runtime"}
    assert images == {c.name for c in IMAGE_COMPONENTS}


def test_one_process_per_container_no_cluster() -> None:
    monolith = by_name("monolith").argv()
    assert monolith[monolith.index("--workers") + 1] == "1"
    assert all("--workers" not in c.command for c in IMAGE_COMPONENTS if c.name != "monolith")
    assert by_name("send").argv()[by_name("send").argv().index("--host") + 1] == "0.0.0.0"


def test_the_committed_compose_file_is_the_generated_one() -> None:
    assert (ROOT / "infra" / "compose.yaml").read_text() == render(), \
        "regenerate it: python -m infra compose > infra/compose.yaml"


def test_compose_runs_every_process_with_redis_and_the_dev_inbox() -> None:
    services = compose()["services"]
    assert set(services) == {c.name for c in IMAGE_COMPONENTS} | {"redis"}
    for component in COMPONENTS:
        service = services[component.name]
        assert service["image"] == f"strangler-kit/{component.name}:${{IMAGE_TAG:-latest}}"
        assert service["environment"]["REDIS_URL"] == "redis://redis:6380/0"
        assert set(service["depends_on"]) == {"redis", "devinbox"}
        assert "ports" not in service  # reached through the gateway only
    assert services["dispatcher"]["environment"]["DEVINBOX_URL"] == "http://devinbox:8025"
    assert services["dispatcher"]["environment"]["SMTP_HOST"] == "devinbox"
    assert services["gateway"]["ports"] == ["127.0.0.1:8080:8080"]
    assert set(services["gateway"]["depends_on"]) == {c.name for c in IMAGE_COMPONENTS
                                                     if c.name != "gateway"} | {"redis"}
    assert services["gateway"]["environment"]["ROUTING_TARGET_SEND_URL"] == "http://send:8002"
    assert json.loads(instruction("devinbox", "CMD"))[:3] == ["python", "-m", "devinbox"]
