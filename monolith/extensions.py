"""The Redis client as a Flask extension: built from settings in the factory, never at import."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlparse

import redis
import redis.cluster
from flask import Flask, current_app
from redis.backoff import NoBackoff
from redis.retry import Retry

from monolith.crypto import Keyring
from monolith.settings import Settings, SettingsError
from monolith.store import Scripts

EXTENSION_KEY = "monolith"
SOCKET_TIMEOUT_SECONDS = 2.0
HEALTH_CHECK_INTERVAL_SECONDS = 10


# What a request can meet from a Redis Cluster while a primary fails over or a slot moves, and
# its client did not absorb (it follows MOVED and ASK and waits out TRYAGAIN): answered 503 with
# Retry-After like a lost connection (monolith/errors.py). RedisClusterException (no reachable
# node, slots not all covered) is not a RedisError.
CLUSTER_UNAVAILABLE: tuple[type[Exception], ...] = (
    redis.exceptions.ClusterError,  # ClusterDownError, MasterDownError, redirections exhausted
    redis.exceptions.TryAgainError,
    redis.exceptions.AskError,  # MovedError is one
    redis.exceptions.RedisClusterException,  # SlotNotCoveredError is one
)
# The RedisClusterExceptions that say the cluster cannot be reached or its slots are not all
# served (a primary down without a replica, a failover): redis-py gives them no class of their
# own. Its others (keys in several slots, a command it cannot route) are a bug here: a 500.
CLUSTER_OUTAGE_MESSAGES = ("Redis Cluster cannot be connected", "All slots are not covered",
                           "could not agree on a valid slots cache")


def is_cluster_outage(error: Exception) -> bool:
    """Whether a cluster error is the cluster being unavailable (503), not a refused command."""
    if isinstance(error, redis.exceptions.SlotNotCoveredError):
        return True
    if not isinstance(error, redis.exceptions.RedisClusterException):
        return True
    return any(text in str(error) for text in CLUSTER_OUTAGE_MESSAGES)


# Whatever says "Redis does not answer" (readiness).
ANY_REDIS_ERROR: tuple[type[Exception], ...] = (redis.RedisError, OSError, *CLUSTER_UNAVAILABLE)


def url_database(url: str) -> int:
    """The database a redis:// URL names (its path, `/N`; 0 when it has none)."""
    path = urlparse(url).path.strip("/")
    return int(path) if path.isdigit() else 0


def build_redis(url: str, *, cluster: bool = False) -> redis.Redis:
    """A client that fails fast when Redis is down (no retries) and reconnects on the next call.

    `cluster` (REDIS_CLUSTER=1): `url` names any node of a Redis Cluster, and the client is
    redis-py's RedisCluster, with the same timeouts and no retry of a failed call either (a
    retried script whose reply was lost could send twice). It answers the command API of
    redis.Redis, which the rest of the monolith is written against. Unlike the node's client it
    connects when built (redis-py reads the slot map then): a cluster unreachable at start stops
    the process (RedisClusterException), and its supervisor starts it again."""
    options: dict[str, Any] = {
        "decode_responses": True,
        "socket_timeout": SOCKET_TIMEOUT_SECONDS,
        "socket_connect_timeout": SOCKET_TIMEOUT_SECONDS,
        "retry": Retry(NoBackoff(), 0),  # the cluster's own retries and each node's
    }
    if cluster:
        database = url_database(url)
        if database:
            raise SettingsError(
                f"REDIS_CLUSTER=1 but REDIS_URL names database {database}: a Redis Cluster has "
                "only database 0; drop the /N from REDIS_URL (or unset REDIS_CLUSTER)")
        # No health_check_interval or retry_on_error here: RedisCluster does not pass them on.
        return cast(redis.Redis, redis.cluster.RedisCluster.from_url(url, **options))
    return redis.Redis.from_url(
        url, **options,
        health_check_interval=HEALTH_CHECK_INTERVAL_SECONDS,
        retry_on_error=[],
    )


@dataclass(frozen=True)
class Backend:
    """What a request needs besides itself: settings, the client, its scripts, the keyring."""

    settings: Settings
    redis: redis.Redis
    scripts: Scripts
    keyring: Keyring


class RedisExtension:
    def init_app(self, app: Flask, settings: Settings) -> None:
        client = build_redis(settings.redis_url, cluster=settings.redis_cluster)
        app.extensions[EXTENSION_KEY] = Backend(
            settings=settings,
            redis=client,
            scripts=Scripts.register(client),
            keyring=Keyring(settings.code_pepper),
        )


def backend() -> Backend:
    found: Backend = current_app.extensions[EXTENSION_KEY]
    return found
