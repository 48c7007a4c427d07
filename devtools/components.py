"""The system's processes (declared once, in infra/components.py) placed on this machine.

`./dev run` uses the well-known ports the declaration gives; tests use free ones. The short test
profile makes expiry and resend testable in seconds.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from devtools import redis_server
from devtools.processes import (
    REPO_ROOT,
    HttpReady,
    ProcessSpec,
    Readiness,
    RedisReady,
    StaysUp,
)
from infra.components import (
    ALL_COMPONENTS,
    WEB_COMPONENTS,
    Component,
    by_name,
    development_environment,
)

LIVE_TABLE = REPO_ROOT / "routing" / "routes.toml"
# Short policy for tests: expiry and resend become testable in seconds. Others stay default. The
# pepper is set (not the documented default) so every side is seen to read CODE_PEPPER.
TEST_PROFILE: Mapping[str, str] = {
    "CODE_PEPPER": "test-pepper-not-a-secret",
    "VERIFY_CODE_TTL_SECONDS": "8",
    "VERIFY_RESEND_COOLDOWN_SECONDS": "1",
    "ROUTING_HEALTH_INTERVAL_S": "1",  # the gateway sees its targets healthy within seconds
    # Every target of the contract stage sends as client alpha on one Redis: a per-client limit
    # reached by their sum would refuse what each target expects to be sent (its contract test
    # runs under LIMITS_PROFILE, below).
    "VERIFY_CLIENT_SEND_LIMIT": "1000000",
    # The SMS-pumping guards, small enough to test in seconds on every target, yet never reached by
    # the rest of the suite: fresh_phone gives each destination a prefix of its own, and one
    # destination takes at most VERIFY_DEST_LIMIT (10) sends, so at most 10 new verifications.
    # Prefix velocity above that; the conversion guard judges only from 10 on, and a send judges
    # what came before it, so a destination's 10th verification is never blocked (the 11th meets
    # the destination limit first). Short windows and block: a prefix reserved by one run is free
    # again within minutes for a later run with the same namespace on the same Redis.
    "VERIFY_SMS_PREFIX_LIMIT": "12",
    "VERIFY_SMS_PREFIX_WINDOW_SECONDS": "120",
    "VERIFY_PREFIX_GUARD_MIN_SMS": "10",
    "VERIFY_PREFIX_GUARD_MIN_APPROVED_PERCENT": "10",
    "VERIFY_PREFIX_GUARD_WINDOW_SECONDS": "240",  # a multiple of 24: buckets of 10 s
    "VERIFY_PREFIX_GUARD_BLOCK_SECONDS": "60",
    # The circuit breaker counts every target's SMS together: like the per-client limit, out of
    # the way (their contract tests run under LIMITS_PROFILE, on a stack of their own).
    "VERIFY_SMS_GLOBAL_LIMIT": "1000000",
}
# The contract stage's second phase ("contract: shared limits"): the limits that every send of a
# client, or every SMS, counts toward, small and short, so their tests reach them in seconds on
# each target in turn. The circuit breaker's test sends at most 2 * (6 + 1) SMS and an email as
# one client in one client window: below the client limit, so what refuses them is the breaker.
LIMITS_PROFILE: Mapping[str, str] = {
    **TEST_PROFILE,
    "VERIFY_CLIENT_SEND_LIMIT": "20",
    "VERIFY_CLIENT_WINDOW_SECONDS": "2",
    "VERIFY_SMS_GLOBAL_LIMIT": "6",
    "VERIFY_SMS_GLOBAL_WINDOW_SECONDS": "2",
}
TRUSTED_LOOPBACK = "127.0.0.1/32,::1/128"

Ports = Mapping[str, int]
"""Port of each component by name, and of each extra port as `name.placeholder`
(`devinbox.smtp_port`)."""


def port_names() -> list[str]:
    names: list[str] = []
    for component in ALL_COMPONENTS:
        if component.port is not None:
            names.append(component.name)
        names += [f"{component.name}.{extra}" for extra in component.extra_ports]
    return names


def run_ports() -> dict[str, int]:
    """The declared, well-known ports (`./dev run`)."""
    found: dict[str, int] = {}
    for component in ALL_COMPONENTS:
        if component.port is not None:
            found[component.name] = component.port
        for extra, number in component.extra_ports.items():
            found[f"{component.name}.{extra}"] = number
    return found


def free_ports() -> dict[str, int]:
    return {name: redis_server.free_port() for name in port_names()}


def readiness(component: Component, port: int | None) -> Readiness:
    if component.readiness is None or port is None:
        return StaysUp()
    if component.readiness == "ping":
        return RedisReady(f"redis://127.0.0.1:{port}/0")
    return HttpReady(f"http://127.0.0.1:{port}{component.readiness}")


def local_spec(component: Component, ports: Ports, env: Mapping[str, str], *,
               workers: int = 1, fill: Mapping[str, str] | None = None) -> ProcessSpec:
    """One declared component as a process on loopback, at its port in `ports`."""
    port = ports.get(component.name)
    extras = {extra: ports[f"{component.name}.{extra}"] for extra in component.extra_ports}
    argv = component.argv(python=sys.executable, host="127.0.0.1", port=port, workers=workers,
                          fill={**extras, **(fill or {})})
    return ProcessSpec(component.name, argv, env, readiness(component, port), port,
                       component.phase)


def shared_env(ports: Ports, redis_url: str, keyring_file: Path,
               profile: Mapping[str, str] = {}) -> dict[str, str]:
    return {
        **development_environment(redis_url=redis_url, inbox_host="127.0.0.1",
                                  inbox_http_port=ports["devinbox"],
                                  inbox_smtp_port=ports["devinbox.smtp_port"]),
        "TRUSTED_PROXIES": TRUSTED_LOOPBACK,
        "KEYRING_FILE": str(keyring_file),
        **profile,
    }


def target_env(ports: Ports) -> dict[str, str]:
    """The gateway's target groups (the web components) moved to where they listen here."""
    return {f"ROUTING_TARGET_{c.name.upper()}_URL": f"http://127.0.0.1:{ports[c.name]}"
            for c in WEB_COMPONENTS}


def components(
    ports: Ports,
    *,
    external_redis: str | None,
    keyring_file: Path,
    workers: int | None = None,
    gateway: bool = True,
    profile: Mapping[str, str] = {},
    table: Path = LIVE_TABLE,
    redis_dir: str | None = None,
) -> list[ProcessSpec]:
    """Every component, in start order. `external_redis` (a URL) replaces the embedded server;
    every process reads its API keys from `keyring_file`."""
    redis_url = external_redis or f"redis://127.0.0.1:{ports['redis']}/0"
    env = shared_env(ports, redis_url, keyring_file, profile)
    found: list[ProcessSpec] = []
    for component in ALL_COMPONENTS:
        if component.name == "redis":
            if not external_redis:
                found.append(local_spec(component, ports, {}, fill=redis_server.placeholders(
                    redis_dir or tempfile.gettempdir())))
        elif component.name == "gateway":
            if gateway:
                found.append(local_spec(component, ports, {**env, **target_env(ports)},
                                        fill={"table": str(table)}))
        else:
            found.append(local_spec(component, ports, env,
                                    workers=workers or os.cpu_count() or 1))
    return found


def redis_spec(port: int, data_dir: str) -> ProcessSpec:
    """The embedded Redis alone, on `port`, with its data in `data_dir`."""
    return local_spec(by_name("redis"), {"redis": port}, {},
                      fill=redis_server.placeholders(data_dir))
