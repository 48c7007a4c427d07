"""/__gateway/ endpoints: status page, status.json (what the page and `promote` read), metrics."""

from __future__ import annotations

import dataclasses
from importlib import resources
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from routing.gateway.proxy import STATE
from routing.gateway.state import GatewayState
from routing.gateway.stats import add_counts, empty_buckets, quantile_ms
from routing.promotion.state import load_all, state_dir
from routing.table.describe import rules_json

PREFIX = "/__gateway"


def refresh_health_gauges(state: GatewayState) -> None:
    for group in state.table.target_groups:
        targets = state.health.group(group.name)
        state.stats.group_healthy.labels(group.name).set(int(targets.healthy))
        state.stats.failing_open.labels(group.name).set(int(targets.failing_open))
        for target in targets.targets:
            state.stats.healthy.labels(group.name, target.url).set(int(target.healthy))


def status(state: GatewayState) -> dict[str, Any]:
    """Also refreshes the health gauges of the metrics."""
    refresh_health_gauges(state)
    table = state.table
    traffic = state.stats.snapshot()
    groups = []
    for group in table.target_groups:
        targets = state.health.group(group.name)
        rows = [t for t in traffic if t.target_group == group.name]
        window = empty_buckets()
        for row in rows:
            add_counts(window, row.window_buckets)
        history = state.stats.history.get(group.name, ())
        groups.append({
            "name": group.name, "url": group.url, "algorithm": group.algorithm,
            "healthy": targets.healthy, "failing_open": targets.failing_open,
            "last_health_error": next((t.last_error for t in targets.targets if t.last_error),
                                      None),
            "targets": [{"url": t.url, "healthy": t.healthy, "last_health_error": t.last_error,
                         "outstanding": t.outstanding} for t in targets.targets],
            "requests_total": sum(r.requests_total for r in rows),
            "errors_total": sum(r.errors_total for r in rows),
            "request_rate": round(sum(r.request_rate for r in rows), 2),
            "error_rate": round(sum(r.error_rate for r in rows), 2),
            "p50_ms": quantile_ms(0.5, window), "p99_ms": quantile_ms(0.99, window),
            "history": [dataclasses.asdict(s) for s in history]})
    plans = state_dir(state.settings.table_path)
    return {"table": {"path": str(state.settings.table_path), "version": state.version,
                      "loaded_at": state.loaded_at, "error": state.table_error},
            "window_seconds": state.stats.window_s,
            "history_interval_seconds": state.stats.history_interval_s,
            "history_span_seconds": state.stats.history_span_s,
            "rules": rules_json(table), "target_groups": groups,
            "traffic": [t.to_json() for t in traffic],
            # Promotion runs (`routing promote`) persist next to the table; a few small files,
            # read anew on each request so the page never shows a stale step.
            "plans_dir": str(plans), "plans": [run.to_json() for run in load_all(plans)]}


async def status_json(request: web.Request) -> web.Response:
    return web.json_response(status(request.app[STATE]),
                             headers={"Cache-Control": "no-store"})


async def page(request: web.Request) -> web.Response:
    html = resources.files("routing.gateway").joinpath("status.html").read_text("utf-8")
    return web.Response(text=html, content_type="text/html")


async def metrics(request: web.Request) -> web.Response:
    state = request.app[STATE]
    refresh_health_gauges(state)
    return web.Response(body=generate_latest(state.stats.registry),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_routes(app: web.Application) -> None:
    app.router.add_get(f"{PREFIX}/", page)
    app.router.add_get(f"{PREFIX}/status.json", status_json)
    app.router.add_get(f"{PREFIX}/metrics", metrics)
