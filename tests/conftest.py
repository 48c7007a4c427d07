"""Fixtures shared by every test: one real Redis per session, flushed for each test.

Which Redis (devtools/redis_server.py, redis_url_or_embedded): REDIS_URL, when set, names a server
the tests may flush (CI uses a spare database of the machine's Redis 7); else
TEST_REDIS=testcontainers starts one in a container (the Redis image `./dev images` makes, unless
TEST_REDIS_IMAGE names another); else an embedded server is started for the session.

Every test that uses the session's Redis (the `redis_url` fixture, directly or through another
fixture) is marked `uses_redis`: only those can answer differently on another Redis, so
`-m uses_redis` is the part of the suite that a second Redis has to run (`./dev test
--only-redis-dependent`). Tests that start a Redis of their own always start the embedded one.

With REDIS_CLUSTER=1 the session's Redis is a cluster: REDIS_URL names any node of it (database 0,
the only one a cluster has: a URL with /N is refused), else a local one of 3 primaries is started
(devtools/redis_cluster.py). `redis_client` is then a redis.cluster.RedisCluster, and flushing
is FLUSHALL on every primary. A test marked `single_node("why")` is skipped there, with its why:
the ones that need what a cluster does not have (version-2 data, SELECT, MULTI over several
slots, keys a script does not declare). `./dev test --cluster` runs the tests this way.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from devtools.redis_cluster import cluster_url_or_local
from devtools.redis_server import (
    SINGLE_NODE,
    USES_REDIS,
    client_of,
    cluster_mode,
    flush,
    redis_url_or_embedded,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{USES_REDIS}: uses the session's Redis (set by tests/conftest.py on every "
        "test whose fixtures include redis_url)")


def single_node_reason(item: pytest.Item) -> str | None:
    """Why the test needs a single node (the marker's argument); None when it is not marked."""
    marker = item.get_closest_marker(SINGLE_NODE)
    if marker is None:
        return None
    why = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
    if not why:
        raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{SINGLE_NODE} needs its reason, "
                                f'e.g. @pytest.mark.{SINGLE_NODE}("version-2 data")')
    return str(why)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The fixture closure is known only once collected, so the marker is set here, not by hand.
    in_cluster = cluster_mode()
    for item in items:
        if "redis_url" in getattr(item, "fixturenames", ()):
            item.add_marker(USES_REDIS)
        why = single_node_reason(item)
        if why is not None and in_cluster:
            item.add_marker(pytest.mark.skip(
                reason=f"single node only ({why}): REDIS_CLUSTER=1 runs on a cluster"))


@pytest.fixture(scope="session")
def redis_cluster() -> bool:
    """True when the session's Redis is a cluster (REDIS_CLUSTER=1): what settings built by a
    test must say (`redis_cluster=...`) so the app under test uses a cluster client."""
    return cluster_mode()


@pytest.fixture(scope="session")
def redis_url(redis_cluster: bool) -> Iterator[str]:
    with cluster_url_or_local() if redis_cluster else redis_url_or_embedded() as url:
        yield url


@pytest.fixture
def redis_client(redis_url: str, redis_cluster: bool) -> Iterator[redis.Redis]:
    """The session's Redis, emptied for the test: a node's database, or every primary of the
    cluster (then a redis.cluster.RedisCluster, typed as redis.Redis: same commands)."""
    client = client_of(redis_url, cluster=redis_cluster)
    flush(client)
    yield client
    client.close()
