"""Gateway settings, all from the environment (plus the command line's table/host/port)."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from routing.table.model import RouteTable


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    try:
        return float(raw) if raw else default
    except ValueError as error:
        raise SystemExit(f"{name}={raw!r} is not a number of seconds") from error


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return int(_float(env, name, default))


@dataclass(frozen=True)
class GatewaySettings:
    table_path: Path
    upstream_timeout_s: float = 30.0  # ROUTING_UPSTREAM_TIMEOUT_S: no answer by then -> 504
    connect_timeout_s: float = 5.0  # ROUTING_CONNECT_TIMEOUT_S
    health_interval_s: float = 5.0  # ROUTING_HEALTH_INTERVAL_S
    health_timeout_s: float = 2.0  # ROUTING_HEALTH_TIMEOUT_S
    healthy_threshold: int = 2  # ROUTING_HEALTHY_THRESHOLD consecutive passes -> healthy
    unhealthy_threshold: int = 2  # ROUTING_UNHEALTHY_THRESHOLD consecutive failures -> unhealthy
    reload_interval_s: float = 1.0  # ROUTING_RELOAD_INTERVAL_S: table mtime poll
    served_by_header: bool = True  # ROUTING_SERVED_BY_HEADER=0 turns X-Served-By off
    rate_window_s: int = 10  # ROUTING_RATE_WINDOW_S: window of the status page's live rates
    pool_size: int = 100  # ROUTING_POOL_SIZE: keep-alive connections per target
    target_urls: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_env(cls, table_path: Path, env: Mapping[str, str] | None = None) -> GatewaySettings:
        env = os.environ if env is None else env
        return cls(
            table_path=table_path,
            upstream_timeout_s=_float(env, "ROUTING_UPSTREAM_TIMEOUT_S", 30.0),
            connect_timeout_s=_float(env, "ROUTING_CONNECT_TIMEOUT_S", 5.0),
            health_interval_s=_float(env, "ROUTING_HEALTH_INTERVAL_S", 5.0),
            health_timeout_s=_float(env, "ROUTING_HEALTH_TIMEOUT_S", 2.0),
            healthy_threshold=_int(env, "ROUTING_HEALTHY_THRESHOLD", 2),
            unhealthy_threshold=_int(env, "ROUTING_UNHEALTHY_THRESHOLD", 2),
            reload_interval_s=_float(env, "ROUTING_RELOAD_INTERVAL_S", 1.0),
            served_by_header=env.get("ROUTING_SERVED_BY_HEADER", "1").lower()
            not in ("0", "false", "no", "off"),
            rate_window_s=_int(env, "ROUTING_RATE_WINDOW_S", 10),
            pool_size=_int(env, "ROUTING_POOL_SIZE", 100),
            target_urls=target_url_overrides(env))


def env_key(group: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", group).upper()


def env_name(group: str) -> str:
    """ROUTING_TARGET_<GROUP>_URL, the group upper-cased with '-' as '_'."""
    return f"ROUTING_TARGET_{env_key(group)}_URL"


def target_url_overrides(env: Mapping[str, str]) -> dict[str, str]:
    pattern = re.compile(r"ROUTING_TARGET_(.+)_URL")
    return {m.group(1): value for key, value in env.items() if (m := pattern.fullmatch(key))}


def with_overrides(table: RouteTable, overrides: Mapping[str, str]) -> RouteTable:
    """Swap in target URLs from ROUTING_TARGET_<GROUP>_URL (tests run targets on free ports)."""
    groups = tuple(
        dataclasses.replace(g, url=overrides[env_key(g.name)]) if env_key(g.name) in overrides
        else g for g in table.target_groups)
    return dataclasses.replace(table, target_groups=groups)
