"""The images, built as `./dev images` builds them (cached when nothing changed), run with
testcontainers: one image alone, then the whole system as containers (infra/containers.py) on a
private network, answering a send and a check through the containerized gateway.

Skipped only when docker cannot run here (the reason names what is missing); with
KIT_REQUIRE_DOCKER=1 (CI) that is a failure instead.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer
from testcontainers.core.network import Network

from devtools import images, keys
from infra import containers
from infra.components import Component, by_name
from tests.support.api_keys import IssuedKey

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
HEALTH_INTERVAL_NS = 1_000_000_000  # the images' own HEALTHCHECK, probed every second


@pytest.fixture(scope="module")
def built() -> images.Built:
    try:
        images.check_docker()
    except images.ImageError as error:
        if os.environ.get("KIT_REQUIRE_DOCKER") == "1":
            pytest.fail(f"KIT_REQUIRE_DOCKER=1 but {error}")
        pytest.skip(str(error))
    # No reaper container: it would be pulled from a registry, and none is reachable here.
    testcontainers_config.ryuk_disabled = True
    return images.build()


def healthy(container: DockerContainer, timeout: float = 90.0) -> None:
    wrapped = container.get_wrapped_container()
    deadline = time.monotonic() + timeout
    while True:
        wrapped.reload()
        state = wrapped.attrs["State"]
        if state.get("Health", {}).get("Status") == "healthy":
            return
        if not state["Running"] or time.monotonic() > deadline:
            logs = wrapped.logs(tail=30).decode("utf-8", "replace")
            raise AssertionError(f"{wrapped.name} not healthy ({state}); its output:\n{logs}")
        time.sleep(0.3)


def test_the_send_image_serves_healthz_as_a_non_root_user(built: images.Built) -> None:
    send = by_name("send")
    assert send.port is not None
    with DockerContainer(built.images["send"]).with_exposed_ports(send.port) as container:
        url = f"http://{container.get_container_host_ip()}:{container.get_exposed_port(send.port)}"
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"{url}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        assert response.status_code == 200
        code, output = container.exec(["id", "-u"])
        assert (code, output.decode().strip()) == (0, "10001")
        code, _ = container.exec(["python", "-c", "import pip"])
        assert code != 0, "pip is importable in the runtime image"


@pytest.fixture(scope="module")
def system(built: images.Built, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[dict[str, DockerContainer], IssuedKey]]:
    """Every container of infra/containers.py, phase by phase, each healthy before the next."""
    key_dir = tmp_path_factory.mktemp("keyring")
    key_dir.chmod(0o755)
    key = IssuedKey(id="ak_" + "0" * 15 + "1", secret="images-test-secret", client="images")
    keyring = Path(key_dir) / "keyring.json"
    keys.write_keyring(keyring, keys.Keyring((key.api_key(),)))
    keyring.chmod(0o644)  # the containers run as uid 10001
    started: dict[str, DockerContainer] = {}
    with Network() as network:
        try:
            for component in containers.containers():
                started[component.name] = start(component, built, network, key_dir)
            yield started, key
        finally:
            for container in reversed(started.values()):
                container.stop()


def start(component: Component, built: images.Built, network: Network,
          key_dir: Path) -> DockerContainer:
    container = (DockerContainer(built.images[component.name])
                 .with_network(network).with_network_aliases(component.name)
                 .with_kwargs(healthcheck={"interval": HEALTH_INTERVAL_NS}, init=True))
    env = containers.environment(component)
    if env:
        container.with_volume_mapping(str(key_dir), containers.KEYRING_DIR, "ro")
    for name, value in env.items():
        container.with_env(name, value)
    port = containers.published_port(component)
    if port is not None:
        container.with_exposed_ports(port)
    container.start()
    healthy(container)
    return container


def url(container: DockerContainer, port: int | None) -> str:
    assert port is not None
    return f"http://{container.get_container_host_ip()}:{container.get_exposed_port(port)}"


def test_the_system_as_containers_sends_and_checks_through_the_gateway(
        system: tuple[dict[str, DockerContainer], IssuedKey]) -> None:
    started, key = system
    gateway = url(started["gateway"], by_name("gateway").port)
    inbox = url(started["devinbox"], by_name("devinbox").port)
    to = f"images-{time.time_ns()}@example.com"
    with httpx.Client(base_url=gateway, headers=key.authorization, timeout=10) as client:
        sent = client.post("/api/verifications", json={"to": to, "channel": "email"})
        assert sent.status_code == 201, sent.text
        code = wait_for_code(inbox, to)
        checked = client.post("/api/verification-checks", json={"to": to, "code": code})
    assert checked.status_code == 200, checked.text
    assert checked.json()["status"] == "approved"


def wait_for_code(inbox: str, to: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        messages = httpx.get(f"{inbox}/messages", params={"to": to}, timeout=5).json()["messages"]
        if messages:
            found = re.search(r"\b(\d{4,10})\b", json.dumps(messages[-1]))
            assert found, messages[-1]
            return found.group(1)
        assert time.monotonic() < deadline, f"no message to {to} in the dev inbox"
        time.sleep(0.3)
