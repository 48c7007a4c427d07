"""Gateway settings: the environment (routing/README.md) plus the command line's table path."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import Field

from kit.settings import Count, EnvSettings, Seconds, env_var
from routing.table.model import RouteTable


class GatewaySettings(EnvSettings):
    table_path: Path
    health_interval_s: Annotated[Seconds, env_var("ROUTING_HEALTH_INTERVAL_S")] = 5.0
    health_timeout_s: Annotated[Seconds, env_var("ROUTING_HEALTH_TIMEOUT_S")] = 2.0
    # Consecutive passes that make a target healthy, failures that make it unhealthy.
    healthy_threshold: Annotated[Count, env_var("ROUTING_HEALTHY_THRESHOLD")] = 2
    unhealthy_threshold: Annotated[Count, env_var("ROUTING_UNHEALTHY_THRESHOLD")] = 2
    # How often the table's mtime is polled.
    reload_interval_s: Annotated[Seconds, env_var("ROUTING_RELOAD_INTERVAL_S")] = 1.0
    served_by_header: Annotated[bool, env_var("ROUTING_SERVED_BY_HEADER")] = True
    # Window of the status page's live rates.
    rate_window_s: Annotated[Count, env_var("ROUTING_RATE_WINDOW_S")] = 10
    # The status page's history per target group: one sample per interval, kept for the span.
    history_interval_s: Annotated[Seconds, env_var("ROUTING_HISTORY_INTERVAL_S")] = 5.0
    history_span_s: Annotated[Seconds, env_var("ROUTING_HISTORY_SPAN_S")] = 600.0
    # Keep-alive connections per target.
    pool_size: Annotated[Count, env_var("ROUTING_POOL_SIZE")] = 100
    # From ROUTING_TARGET_<GROUP>_URL, keyed by <GROUP>.
    target_urls: Mapping[str, str] = Field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **given: Any) -> Self:
        env = os.environ if environ is None else environ
        return super().from_env(env, target_urls=target_url_overrides(env), **given)


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
