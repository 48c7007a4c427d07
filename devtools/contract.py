"""`./dev test`'s contract stage: one stack on free ports, the suite once per target.

A target is a way of pointing the same suite at the system: the monolith alone, the services,
the two cross-wise pairs, the gateway (when routing/gateway exists), and the differential run.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import redis

from devtools.components import REPO_ROOT, TEST_PROFILE, components, free_ports
from devtools.results import Result, run_pytest
from devtools.stack import Stack, StackError

SUITE = "contract_tests"
DIFFERENTIAL = "contract_tests/differential"


@dataclass(frozen=True)
class Target:
    name: str
    args: tuple[str, ...]
    paths: tuple[str, ...] = (SUITE, f"--ignore={DIFFERENTIAL}")


def targets(urls: Mapping[str, str]) -> list[Target]:
    m, s, v = urls["monolith"], urls["send"], urls["verify"]
    found = [
        Target("monolith", ("--base-url", m)),
        Target("services", ("--send-url", s, "--check-url", v, "--users-url", m)),
        Target("cross-monolith-send", ("--send-url", m, "--check-url", v, "--users-url", m)),
        Target("cross-services-send", ("--send-url", s, "--check-url", m, "--users-url", m)),
    ]
    found += gateway_targets(urls)
    found.append(Target("differential monolith/services",
                        ("--diff-a", m, "--diff-b", f"send={s},check={v},users={m}"),
                        (DIFFERENTIAL,)))
    return found


def gateway_targets(urls: Mapping[str, str]) -> list[Target]:
    """The hook for routing/: the gateway as it routes by default, and pinned to the services.

    Pinning uses the table's `X-Backend: services` rules when routing/routes.toml has them.
    """
    gateway = urls.get("gateway")
    if not gateway:
        return []
    found = [Target("gateway", ("--base-url", gateway))]
    table = REPO_ROOT / "routing" / "routes.toml"
    if table.exists() and "X-Backend" in table.read_text("utf-8"):
        found.append(Target("gateway-services", ("--base-url", gateway,
                                                 "--header", "X-Backend: services")))
    return found


def run_all(workers: int = 2) -> list[Result]:
    external = os.environ.get("REDIS_URL") or None
    if external:  # the configured test database, which tests/conftest.py flushes as well
        client = redis.Redis.from_url(external)
        client.flushdb()
        client.close()
    parts = components(free_ports(), external_redis=external, workers=workers,
                       profile=TEST_PROFILE)
    log_dir = Path(tempfile.mkdtemp(prefix="kit-contract-"))
    print(f"\n== contract: starting {', '.join(p.name for p in parts)} "
          f"(logs in {log_dir})", flush=True)
    try:
        with Stack(parts, ready_timeout=60, log_dir=log_dir) as stack:
            urls = {p.name: stack.url(p.name) for p in parts if p.url}
            env = suite_env(urls["devinbox"])
            # Targets are independent (fresh IPs and destinations), and mostly wait on timers:
            # two at a time halve the stage on two cores without starving the servers.
            jobs = max(1, int(os.environ.get("CONTRACT_JOBS", "2")))
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                return list(pool.map(
                    lambda t: run_pytest(f"contract: {t.name}", [*t.paths, *t.args], env,
                                         buffered=jobs > 1),
                    targets(urls)))
    except StackError as error:
        print(f"== contract: the stack did not start: {error}", file=sys.stderr, flush=True)
        return [Result("contract: stack", exit_code=1, note=str(error).splitlines()[0])]


def suite_env(inbox_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTRACT_")}
    return {**env, **TEST_PROFILE, "CONTRACT_INBOX_URL": inbox_url}
