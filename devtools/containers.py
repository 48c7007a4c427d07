"""`./dev run --containers`: the system as containers (infra/containers.py), images from
`./dev images` (built first; a warm build takes seconds).

Each container runs attached (`docker run --rm`, its output behind its name, as `./dev run`
shows processes); stopping its `docker run` stops it, and whatever is left of a run (containers
with its label, its network) is removed at the end. A container is ready when Docker says it is
healthy: the image's own HEALTHCHECK, probed every second while starting.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devtools import images
from devtools.processes import ProcessSpec
from infra import containers
from infra.components import Component

HEALTH_INTERVAL = "1s"


@dataclass(frozen=True)
class ContainerHealthy:
    """Docker reports the container healthy."""

    container: str

    def __call__(self, started: float) -> bool:
        result = subprocess.run(
            [images.docker_cli(), "inspect", "--format", "{{.State.Health.Status}}",
             self.container], capture_output=True, text=True)
        return result.stdout.strip() == "healthy"

    def __str__(self) -> str:
        return f"container {self.container} to be healthy"


@dataclass
class Run:
    """One run's network and names; `keyring_dir` is mounted into every component."""

    name: str
    subnet: str
    keyring_dir: Path

    def container(self, instance: str) -> str:
        """The container's name; `instance` is its component's name, or another for a second
        container of one component (the contract stage's second gateway)."""
        return f"{self.name}-{instance}"


def docker_run_argv(run: Run, component: Component, image: str,
                    extra_env: Mapping[str, str], *, instance: str | None = None,
                    mounts: Mapping[Path, str] = {}, publish: bool = True) -> tuple[str, ...]:
    """`docker run` of one container, reached on the network by `instance` (default: its
    component's name); `mounts` maps host files to paths inside, read-only."""
    instance = instance or component.name
    argv = [images.docker_cli(), "run", "--rm", "--init", "--name", run.container(instance),
            "--label", f"kit.run={run.name}", "--network", run.name,
            "--network-alias", instance, "--health-interval", HEALTH_INTERVAL]
    env = containers.environment(component)
    if env:
        env |= extra_env
        argv += ["--volume", f"{run.keyring_dir}:{containers.KEYRING_DIR}:ro"]
    for source, target in mounts.items():
        argv += ["--volume", f"{source}:{target}:ro"]
    for key, value in env.items():
        argv += ["--env", f"{key}={value}"]
    port = containers.published_port(component)
    if port is not None and publish:
        argv += ["--publish", f"127.0.0.1:{port}:{port}"]
    return (*argv, image)


def spec(run: Run, component: Component, image: str, extra_env: Mapping[str, str] = {}, *,
         instance: str | None = None, mounts: Mapping[Path, str] = {},
         publish: bool = True) -> ProcessSpec:
    """One container as a process of a Stack, ready when Docker says it is healthy."""
    instance = instance or component.name
    env = {"TRUSTED_PROXIES": run.subnet, **extra_env}
    argv = docker_run_argv(run, component, image, env, instance=instance, mounts=mounts,
                           publish=publish)
    return ProcessSpec(instance, argv, ready=ContainerHealthy(run.container(instance)),
                       port=containers.published_port(component) if publish else None,
                       phase=component.phase)


def specs(run: Run, built: Mapping[str, str], extra_env: Mapping[str, str] = {},
          publish: bool = True) -> list[ProcessSpec]:
    """One `docker run` per container, in start order; `built` maps component to image."""
    return [spec(run, c, built[c.name], extra_env, publish=publish)
            for c in containers.containers()]


def address(run: Run, instance: str) -> str:
    """A container's IP address on the run's network (reachable from this host on Linux)."""
    found = images.docker("inspect", "--format",
                          f'{{{{(index .NetworkSettings.Networks "{run.name}").IPAddress}}}}',
                          run.container(instance)).stdout.strip()
    if not found:
        raise images.ImageError(f"container {run.container(instance)} has no address on "
                                f"network {run.name}")
    return found


@contextmanager
def network(name: str, keyring: Path) -> Iterator[Run]:
    """A private network for one run and a copy of the keyring its containers can read (they
    run as uid 10001; the keyring is the owner's only). Everything of the run is removed after."""
    images.docker("network", "create", "--label", f"kit.run={name}", name)
    keyring_dir = Path(tempfile.mkdtemp(prefix=f"{name}-keyring-"))
    keyring_dir.chmod(0o755)
    try:
        subnet = images.docker("network", "inspect", "--format",
                               "{{(index .IPAM.Config 0).Subnet}}", name).stdout.strip()
        run = Run(name=name, subnet=subnet, keyring_dir=keyring_dir)
        sync_keyring(keyring, run)
        yield run
    finally:
        remove(name)
        shutil.rmtree(keyring_dir, ignore_errors=True)


def sync_keyring(keyring: Path, run: Run) -> None:
    """Copy the keyring when it changed (`./dev keys create` reaches the containers): written
    beside and renamed, so a container never reads half a file."""
    target = run.keyring_dir / "keyring.json"
    if not keyring.exists():
        return
    text = keyring.read_bytes()
    if target.exists() and target.read_bytes() == text:
        return
    partial = run.keyring_dir / ".keyring.json.new"
    partial.write_bytes(text)
    partial.chmod(0o644)
    partial.rename(target)


def remove(name: str) -> None:
    listed = images.docker("ps", "--all", "--quiet", "--filter", f"label=kit.run={name}",
                           check=False).stdout.split()
    if listed:
        images.docker("rm", "--force", *listed, check=False)
    images.docker("network", "rm", name, check=False)


def url_table(run: Run, specs: Sequence[ProcessSpec]) -> str:
    rows = [("container", "listens on")]
    for component in containers.containers():
        port = containers.published_port(component)
        inside = f"{component.name}:{component.port}" if component.port else "(worker, no port)"
        if component.name == "gateway":
            rows.append((component.name, f"http://127.0.0.1:{port}  (the API; status page "
                         f"http://127.0.0.1:{port}/__gateway/)"))
        elif port is not None:
            rows.append((component.name, f"http://127.0.0.1:{port}/  (inbox page)"))
        else:
            rows.append((component.name, f"{inside}  (network {run.name} only)"))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"  {name:<{width}}  {where}" for name, where in rows) + "\n"
