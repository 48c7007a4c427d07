"""Fixtures: both services in-process on the session's real Redis, flushed per test."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest
import redis

from kit import logs
from tests.integration.services.support import Api, make_settings, running_api


@pytest.fixture
async def api(redis_url: str, redis_client: redis.Redis) -> AsyncIterator[Api]:
    async with running_api(redis_client, make_settings(redis_url)) as running:
        yield running


@pytest.fixture
def json_logs(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """The process's logging as the services' own factory call sets it up (kit.logs), its JSON lines
    on the captured stderr; the logging of the test run put back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    root.handlers = []  # only this process's own handler: none an earlier test left behind
    logs.configure("DEBUG")
    yield
    root.handlers = handlers
    root.setLevel(level)
