"""Fixtures: both services in-process on the session's real Redis, flushed per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis

from tests.integration.services.support import Api, make_settings, running_api


@pytest.fixture
async def api(redis_url: str, redis_client: redis.Redis) -> AsyncIterator[Api]:
    async with running_api(redis_client, make_settings(redis_url)) as running:
        yield running
