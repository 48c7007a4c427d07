"""The four stacks in deploy order; each stack's outputs feed the next ones' parameters."""

from __future__ import annotations

import json
from pathlib import Path

from troposphere import Template

from infra import cache, network, platform, routes, services

STACK_ORDER = ("network", "cache", "platform", "services")


def build_all(route_table: Path = routes.ROUTE_TABLE) -> dict[str, Template]:
    return {
        "network": network.build(),
        "cache": cache.build(),
        "platform": platform.build(routes.load(route_table)),
        "services": services.build(),
    }


def render(template: Template) -> str:
    """Stable JSON (sorted keys, trailing newline) so goldens and change sets diff cleanly."""
    return json.dumps(template.to_dict(), indent=2, sort_keys=True) + "\n"


def write_all(out_dir: Path, route_table: Path = routes.ROUTE_TABLE) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, template in build_all(route_table).items():
        path = out_dir / f"{name}.json"
        path.write_text(render(template), encoding="utf-8")
        written.append(path)
    return written
