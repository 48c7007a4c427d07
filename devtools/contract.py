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
from dataclasses import dataclass, replace
from pathlib import Path

import redis

from devtools.components import REPO_ROOT, TEST_PROFILE, Component, components, free_ports
from devtools.redis_server import free_port
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


# The service paths' rules in routing/routes.toml and the service each shifts traffic to.
SHIFTED_RULES = {"verifications": "send", "verification-checks": "verify"}
SHIFT_PERCENTS = (50, 100)  # the shipped table itself is the 0 % step


def gateway_targets(urls: Mapping[str, str]) -> list[Target]:
    """The gateway at each migration step (0 %, 50 %, 100 % of the service paths on the
    services) and pinned to either side with the table's `X-Backend` header rules."""
    gateway = urls.get("gateway")
    if not gateway:
        return []
    found = [
        Target("gateway 0%", ("--base-url", gateway)),
        Target("gateway pinned monolith", ("--base-url", gateway,
                                           "--header", "X-Backend: monolith")),
        Target("gateway pinned services", ("--base-url", gateway,
                                           "--header", "X-Backend: services")),
    ]
    found += [Target(f"gateway {percent}%", ("--base-url", urls[f"gateway-{percent}"]))
              for percent in SHIFT_PERCENTS if f"gateway-{percent}" in urls]
    return found


def shifted_gateways(parts: list[Component], table_dir: Path) -> list[Component]:
    """One more gateway per step, each on its own copy of the table with the weights shifted
    the way `python -m routing shift RULE --to SERVICE PERCENT` shifts them."""
    from routing.loader import load_table
    from routing.store import save_table, weights_of
    from routing.weights import shifted, with_weights

    gateway = next((p for p in parts if p.name == "gateway"), None)
    if gateway is None:
        return []
    extra = []
    for percent in SHIFT_PERCENTS:
        table = load_table(REPO_ROOT / "routing" / "routes.toml")
        for rule, service in SHIFTED_RULES.items():
            table = with_weights(table, rule, shifted(weights_of(table, rule), service, percent))
        path = table_dir / f"routes-{percent}.toml"
        save_table(path, table)
        port = free_port()
        argv = [str(path) if a == "routing/routes.toml" else a for a in gateway.argv]
        argv[argv.index("--port") + 1] = str(port)
        ready = f"http://127.0.0.1:{port}/readyz"
        extra.append(replace(gateway, name=f"gateway-{percent}", argv=tuple(argv), port=port,
                             ready=ready))
    return extra


def run_all(workers: int = 2) -> list[Result]:
    external = os.environ.get("REDIS_URL") or None
    if external:  # the configured test database, which tests/conftest.py flushes as well
        client = redis.Redis.from_url(external)
        client.flushdb()
        client.close()
    parts = components(free_ports(), external_redis=external, workers=workers,
                       profile=TEST_PROFILE)
    log_dir = Path(tempfile.mkdtemp(prefix="kit-contract-"))
    parts += shifted_gateways(parts, log_dir)
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
