"""Fixtures shared by every test: one real Redis per session, flushed for each test.

Which Redis (devtools/redis_server.py, redis_url_or_embedded): REDIS_URL, when set, names a server
the tests may flush (CI uses a spare database of the machine's Redis 7); else
TEST_REDIS=testcontainers starts one in a container (the Redis image `./dev images` makes, unless
TEST_REDIS_IMAGE names another); else an embedded server is started for the session.

Every test that uses the session's Redis (the `redis_url` fixture, directly or through another
fixture) is marked `uses_redis`: only those can answer differently on another Redis, so
`-m uses_redis` is the part of the suite that a second Redis has to run (`./dev test
--only-redis-dependent`). Tests that start a Redis of their own always start the embedded one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from devtools.redis_server import USES_REDIS, redis_url_or_embedded


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{USES_REDIS}: uses the session's Redis (set by tests/conftest.py on every "
        "test whose fixtures include redis_url)")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The fixture closure is known only once collected, so the marker is set here, not by hand.
    for item in items:
        if "redis_url" in getattr(item, "fixturenames", ()):
            item.add_marker(USES_REDIS)


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
