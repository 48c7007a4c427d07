"""The four stacks in deploy order; each stack's outputs feed the next ones' parameters."""

from __future__ import annotations

import json
from pathlib import Path

from troposphere import Template

from infra import cache, network, platform, routes, services

STACK_ORDER = ("network", "cache", "platform", "services")
# CloudFormation takes a template body of at most this many bytes (larger ones only from S3).
TEMPLATE_BODY_LIMIT = 51_200


def build_all(route_table: Path = routes.ROUTE_TABLE) -> dict[str, Template]:
    return {
        "network": network.build(),
        "cache": cache.build(),
        "platform": platform.build(routes.load(route_table)),
        "services": services.build(),
    }


def render(template: Template, *, compact: bool = False) -> str:
    """Stable JSON (sorted keys, trailing newline) so goldens and change sets diff cleanly;
    compact (no indentation) for deploying: the services template indented is over
    TEMPLATE_BODY_LIMIT, compact it is well under."""
    if compact:
        return json.dumps(template.to_dict(), separators=(",", ":"), sort_keys=True) + "\n"
    return json.dumps(template.to_dict(), indent=2, sort_keys=True) + "\n"


def write_all(out_dir: Path, route_table: Path = routes.ROUTE_TABLE, *,
              compact: bool = False) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, template in build_all(route_table).items():
        path = out_dir / f"{name}.json"
        path.write_text(render(template, compact=compact), encoding="utf-8")
        written.append(path)
    return written
