"""Fixtures shared by every test: one real Redis per session, flushed for each test.

REDIS_URL, when set, names a server the tests may flush (CI uses a spare database of the machine's
Redis 7); otherwise an embedded server is started for the session.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from devtools.redis_server import redis_url_or_embedded


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_url_or_embedded() as url:
        yield url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    yield client
    client.close()
