"""Background health checks of each target group's health-check path (ALB-style thresholds)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

import aiohttp

from routing.gateway.settings import GatewaySettings
from routing.table.model import TargetGroup

log = logging.getLogger("routing.gateway.health")


@dataclass
class Health:
    url: str
    healthy: bool = True  # until proven otherwise, so a fresh gateway serves at once
    passes: int = 0
    failures: int = 0
    last_error: str | None = None
    last_checked: float | None = None


class HealthChecker:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.health: dict[str, Health] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._session: aiohttp.ClientSession | None = None

    def is_healthy(self, group: str) -> bool:
        state = self.health.get(group)
        return state is None or state.healthy

    def reconcile(self, groups: tuple[TargetGroup, ...]) -> None:
        """Start checks for new groups (or moved URLs), stop them for removed ones."""
        wanted = {g.name: g for g in groups}
        for name in list(self._tasks):
            if name not in wanted or self.health[name].url != wanted[name].url:
                self._tasks.pop(name).cancel()
                self.health.pop(name, None)
        for name, group in wanted.items():
            if name not in self._tasks:
                self.health[name] = Health(url=group.url)
                self._tasks[name] = asyncio.create_task(self._loop(group), name=f"health:{name}")

    async def _loop(self, group: TargetGroup) -> None:
        url = group.url.rstrip("/") + group.health_check_path
        while True:
            error = await self._probe(url)
            self._count(group.name, error)
            await asyncio.sleep(self.settings.health_interval_s)

    async def _probe(self, url: str) -> str | None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.settings.health_timeout_s))
        try:
            async with self._session.get(url, allow_redirects=False) as response:
                await response.read()
                return None if 200 <= response.status < 400 else f"status {response.status}"
        except (aiohttp.ClientError, TimeoutError) as error:
            return f"{type(error).__name__}: {error}".rstrip(": ")

    def _count(self, name: str, error: str | None) -> None:
        state = self.health.get(name)
        if state is None:
            return
        state.last_checked, state.last_error = time.time(), error
        if error is None:
            state.passes, state.failures = state.passes + 1, 0
            if not state.healthy and state.passes >= self.settings.healthy_threshold:
                state.healthy = True
                log.info("target group %s is healthy again (%s)", name, state.url)
        else:
            state.passes, state.failures = 0, state.failures + 1
            if state.healthy and state.failures >= self.settings.unhealthy_threshold:
                state.healthy = False
                log.warning("target group %s is unhealthy: %s (%s)", name, error, state.url)

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._session is not None:
            await self._session.close()
