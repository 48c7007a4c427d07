"""/__gateway/ endpoints: status page, status.json (what the page and `promote` read), metrics."""

from __future__ import annotations

import dataclasses
from importlib import resources
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from routing.gateway.proxy import STATE
from routing.gateway.state import GatewayState
from routing.table.describe import rules_json

PREFIX = "/__gateway"


def status(state: GatewayState) -> dict[str, Any]:
    table = state.table
    traffic = state.stats.snapshot()
    groups = []
    for group in table.target_groups:
        health = state.health.health.get(group.name)
        state.stats.healthy.labels(group.name).set(1 if state.health.is_healthy(group.name) else 0)
        rows = [t for t in traffic if t.target_group == group.name]
        groups.append({
            "name": group.name, "url": group.url, "healthy": state.health.is_healthy(group.name),
            "last_health_error": health.last_error if health else None,
            "requests_total": sum(r.requests_total for r in rows),
            "errors_total": sum(r.errors_total for r in rows),
            "request_rate": round(sum(r.request_rate for r in rows), 2),
            "error_rate": round(sum(r.error_rate for r in rows), 2)})
    return {"table": {"path": str(state.settings.table_path), "version": state.version,
                      "loaded_at": state.loaded_at, "error": state.table_error},
            "window_seconds": state.stats.window_s, "rules": rules_json(table),
            "target_groups": groups, "traffic": [dataclasses.asdict(t) for t in traffic]}


async def status_json(request: web.Request) -> web.Response:
    return web.json_response(status(request.app[STATE]),
                             headers={"Cache-Control": "no-store"})


async def page(request: web.Request) -> web.Response:
    html = resources.files("routing.gateway").joinpath("status.html").read_text("utf-8")
    return web.Response(text=html, content_type="text/html")


async def metrics(request: web.Request) -> web.Response:
    state = request.app[STATE]
    status(state)  # refreshes the health gauges
    return web.Response(body=generate_latest(state.stats.registry),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{PREFIX}/", page)
    app.router.add_get(f"{PREFIX}/status.json", status_json)
    app.router.add_get(f"{PREFIX}/metrics", metrics)
