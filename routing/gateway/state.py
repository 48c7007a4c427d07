"""What the gateway holds: the current table (swapped whole on reload), pools, health, stats."""

from __future__ import annotations

import asyncio
import logging
import os
import time

from routing.gateway.alb_settings import AlbSettings
from routing.gateway.health import HealthChecker
from routing.gateway.settings import GatewaySettings, with_overrides
from routing.gateway.stats import Stats
from routing.gateway.upstream import UpstreamPool
from routing.table.loader import load_table
from routing.table.model import RouteTable
from routing.table.problems import TableError
from routing.table.shadow import shadow_warnings

log = logging.getLogger("routing.gateway")


def read_table(settings: GatewaySettings) -> RouteTable:
    table = with_overrides(load_table(settings.table_path), settings.target_urls)
    for warning in shadow_warnings(table):
        log.warning("%s: %s", settings.table_path, warning)
    return table


class GatewayState:
    def __init__(self, settings: GatewaySettings, alb: AlbSettings, table: RouteTable) -> None:
        self.settings = settings
        self.alb = alb
        self.table = table
        self.version = 1
        self.loaded_at = time.time()
        self.table_error: str | None = None
        self.stats = Stats(settings.rate_window_s, settings.history_interval_s,
                           settings.history_span_s)
        self.health = HealthChecker(settings)
        self._pools: dict[str, UpstreamPool] = {}
        self._stamp = self._file_stamp()
        self._watcher: asyncio.Task[None] | None = None
        self._sampler: asyncio.Task[None] | None = None

    def pool(self, base_url: str) -> UpstreamPool:
        """One keep-alive pool per target URL; bodies pass through untouched."""
        pool = self._pools.get(base_url)
        if pool is None:
            pool = UpstreamPool(base_url, self.settings.pool_size, self.alb.connect_timeout_s,
                                self.alb.idle_timeout_s)
            self._pools[base_url] = pool
        return pool

    async def start(self) -> None:
        self.health.reconcile(self.table.target_groups)
        self._watcher = asyncio.create_task(self._watch(), name="table-watcher")
        self._sampler = asyncio.create_task(self.stats.sample_forever(
            lambda: [g.name for g in self.table.target_groups]), name="history-sampler")

    async def close(self) -> None:
        for task in (self._watcher, self._sampler):
            if task is not None:
                task.cancel()
        await self.health.close()
        for pool in self._pools.values():
            await pool.close()

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            stat = os.stat(self.settings.table_path)
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.settings.reload_interval_s)
            self.reload_if_changed()

    def reload_if_changed(self) -> bool:
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            table = read_table(self.settings)
        except (TableError, OSError) as error:
            problems = getattr(error, "problems", None) or [error]
            self.table_error = "; ".join(str(p) for p in problems)
            log.error("refused the edited table %s, still serving version %d: %s",
                      self.settings.table_path, self.version, self.table_error)
            return False
        self.table, self.table_error = table, None  # one assignment: requests see old or new
        self.version += 1
        self.loaded_at = time.time()
        self.health.reconcile(table.target_groups)
        log.info("loaded table %s as version %d (%d rules)", self.settings.table_path,
                 self.version, len(table.rules))
        return True
