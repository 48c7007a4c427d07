"""Background health checks of every target's health-check path (ALB-style thresholds)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import aiohttp

from routing.gateway.settings import GatewaySettings
from routing.gateway.targets import GroupTargets, Target
from routing.table.model import TargetGroup

log = logging.getLogger("routing.gateway.health")


class HealthChecker:
    def __init__(self, settings: GatewaySettings) -> None:
        self.settings = settings
        self.groups: dict[str, GroupTargets] = {}
        self._tasks: dict[tuple[str, str, str], asyncio.Task[None]] = {}  # group, url, path
        self._session: aiohttp.ClientSession | None = None

    def group(self, name: str) -> GroupTargets:
        return self.groups.get(name) or GroupTargets(name)

    def reconcile(self, groups: tuple[TargetGroup, ...]) -> None:
        """Match the table: a target kept (same group, same URL) keeps its health and counts;
        new targets start being checked, removed ones stop."""
        wanted = {(g.name, url, g.health_check_path) for g in groups for url in g.target_urls}
        for key in [k for k in self._tasks if k not in wanted]:
            self._tasks.pop(key).cancel()
        known = {(g.name, t.url): t for g in self.groups.values() for t in g.targets}
        self.groups = {g.name: GroupTargets(g.name, g.algorithm, [
            known.get((g.name, url)) or Target(url) for url in g.target_urls]) for g in groups}
        for spec in groups:
            for target in self.groups[spec.name].targets:
                key = (spec.name, target.url, spec.health_check_path)
                if key not in self._tasks:
                    self._tasks[key] = asyncio.create_task(
                        self._loop(spec.name, target, spec.health_check_path),
                        name=f"health:{spec.name}:{target.url}")

    async def _loop(self, group: str, target: Target, path: str) -> None:
        url = target.url.rstrip("/") + path
        while True:
            self._count(group, target, await self._probe(url))
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

    def _count(self, group: str, target: Target, error: str | None) -> None:
        target.last_checked, target.last_error = time.time(), error
        if error is None:
            target.passes, target.failures = target.passes + 1, 0
            if not target.healthy and target.passes >= self.settings.healthy_threshold:
                target.healthy = True
                log.info("target %s of group %s is healthy again", target.url, group)
        else:
            target.passes, target.failures = 0, target.failures + 1
            if target.healthy and target.failures >= self.settings.unhealthy_threshold:
                target.healthy = False
                log.warning("target %s of group %s is unhealthy: %s%s", target.url, group, error,
                            "; no healthy target left, routing to all of them (fail open)"
                            if self.group(group).failing_open else "")

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._session is not None:
            await self._session.close()
