"""The one place the services build their Redis client: a node's pool, or a cluster client.

With `REDIS_CLUSTER=1` (docs/api.md "Settings") `REDIS_URL` names any node of a Redis Cluster
(ElastiCache cluster mode, Serverless) and the client is redis-py's asyncio RedisCluster: it
follows MOVED and ASK, waits out TRYAGAIN, and re-reads the slot map after a node is lost. Both
kinds answer the same commands, so the rest of the code is written against `Redis`.

Neither kind retries a command whose connection failed: a retried EVALSHA whose reply was lost
could send twice. A redirection (MOVED, ASK, TRYAGAIN) is not such a retry: the node refused the
command without running it. What the client does not absorb is in CLUSTER_UNAVAILABLE: the web
edge answers it 503 with Retry-After, like a lost connection.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlparse

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.backoff import NoBackoff
from redis.exceptions import (
    AskError,  # MovedError is one
    ClusterError,  # ClusterDownError and MasterDownError are ones; "TTL exhausted" of redirects
    RedisClusterException,  # SlotNotCoveredError; no reachable node; slots not all covered
    RedisError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.retry import Retry

from kit.settings import SettingsError

# Cluster errors a request can meet while a primary fails over or a slot moves.
# RedisClusterException is not a RedisError: an `except RedisError` does not catch it.
CLUSTER_UNAVAILABLE: tuple[type[Exception], ...] = (
    ClusterError, TryAgainError, AskError, RedisClusterException)
# The RedisClusterExceptions that say the cluster cannot be reached or its slots are not all
# served (a primary down without a replica, a failover): redis-py gives them no class of their
# own. Its others (keys in several slots, a command it cannot route) are a bug here: a 500.
CLUSTER_OUTAGE_MESSAGES = ("Redis Cluster cannot be connected", "All slots are not covered",
                           "could not agree on a valid slots cache")


def is_cluster_outage(error: Exception) -> bool:
    """Whether a cluster error is the cluster being unavailable (503), not a refused command."""
    if isinstance(error, SlotNotCoveredError) or not isinstance(error, RedisClusterException):
        return True
    return any(text in str(error) for text in CLUSTER_OUTAGE_MESSAGES)


# Whatever says "Redis does not answer" (readiness, the scripts' load at start).
ANY_REDIS_ERROR: tuple[type[Exception], ...] = (RedisError, OSError, *CLUSTER_UNAVAILABLE)


# No retry of a failed call (the module's docstring says why); redirections are still followed.
NO_RETRY = Retry(NoBackoff(), 0)


def url_database(url: str) -> int:
    """The database a redis:// URL names (its path, `/N`; 0 when it has none)."""
    path = urlparse(url).path.strip("/")
    return int(path) if path.isdigit() else 0


def refuse_database_in_cluster(url: str) -> None:
    """A cluster has database 0 only (SELECT is refused): a URL naming another is a mistake."""
    database = url_database(url)
    if database:
        raise SettingsError(
            f"REDIS_CLUSTER=1 but REDIS_URL names database {database}: a Redis Cluster has only "
            "database 0; drop the /N from REDIS_URL (or unset REDIS_CLUSTER)")


def connect(url: str, *, cluster: bool, socket_timeout: float | None,
            socket_connect_timeout: float, max_connections: int | None = None,
            retry: Retry | None = None, health_check_interval: float = 0) -> Redis:
    """A client of the Redis `url` names: a pool of at most `max_connections` (per node, for a
    cluster). None: redis-py's default, for `max_connections` and for `retry` (NO_RETRY for
    calls that must not repeat)."""
    options: dict[str, Any] = {
        "decode_responses": True,
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": socket_connect_timeout,
        "health_check_interval": health_check_interval,
    }
    if retry is not None:
        options["retry"] = retry
    if max_connections is not None:
        options["max_connections"] = max_connections
    if cluster:
        refuse_database_in_cluster(url)
        # The cluster client answers the command API of Redis (what the store calls); it has
        # no single connection_pool: see max_connections() and drop_idle_connections().
        return cast(Redis, RedisCluster.from_url(url, **options))
    pool = ConnectionPool.from_url(url, **options)
    return Redis.from_pool(pool)


def is_cluster(client: object) -> bool:
    return isinstance(client, RedisCluster)


def max_connections(client: Redis | RedisCluster) -> int:
    """How many calls the client can carry at once (per node, for a cluster)."""
    if isinstance(client, RedisCluster):
        return int(client.connection_kwargs["max_connections"])
    return int(client.connection_pool.max_connections)


async def drop_idle_connections(client: Redis) -> None:
    """After a lost connection: the idle ones are as dead (Redis restarted or failed over). A
    cluster client already dropped the failed node's and re-reads the slot map on its own."""
    if not isinstance(client, RedisCluster):
        await client.connection_pool.disconnect(inuse_connections=False)
