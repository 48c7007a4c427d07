"""The services' one Redis client builder (services/verification/redis_client.py): a cluster
client with REDIS_CLUSTER=1, a URL's database refused there, and which cluster errors are an
outage (503) rather than a refused command (a bug: 500). The same for the monolith's
(monolith/extensions.py), which may not share the code."""

from __future__ import annotations

import pytest
import redis.asyncio
import redis.asyncio.cluster
from redis.exceptions import (
    ClusterDownError,
    MovedError,
    RedisClusterException,
    SlotNotCoveredError,
    TryAgainError,
)

from kit.settings import SettingsError
from monolith import extensions
from monolith.settings import SettingsError as MonolithSettingsError
from services.verification import redis_client

OUTAGES = [ClusterDownError("CLUSTERDOWN The cluster is down"), TryAgainError("TRYAGAIN"),
           MovedError("3999 127.0.0.1:7001"), SlotNotCoveredError("slot 12 is not covered"),
           RedisClusterException("Redis Cluster cannot be connected. Please provide at least "
                                 "one reachable node: Connection refused"),
           RedisClusterException("All slots are not covered after query all startup_nodes. "
                                 "10923 of 16384 covered...")]
REFUSED_COMMANDS = [RedisClusterException("EVALSHA - all keys must map to the same key slot"),
                    RedisClusterException("No way to dispatch this command to Redis Cluster.")]


async def test_with_redis_cluster_the_client_is_a_cluster_client_of_the_node_named() -> None:
    client = redis_client.connect("redis://127.0.0.1:7000/0", cluster=True, socket_timeout=None,
                                  socket_connect_timeout=1.0, max_connections=64,
                                  retry=redis_client.NO_RETRY)
    assert isinstance(client, redis.asyncio.cluster.RedisCluster)
    assert redis_client.max_connections(client) == 64  # per node: the store's gate size
    assert client.retry.get_retries() == 0  # a failed EVALSHA is never sent again
    await client.aclose()
    single = redis_client.connect("redis://127.0.0.1:7000/3", cluster=False, socket_timeout=None,
                                  socket_connect_timeout=1.0, max_connections=8)
    assert isinstance(single, redis.asyncio.Redis)
    assert redis_client.max_connections(single) == 8
    await single.aclose()


def test_a_cluster_url_naming_a_database_is_refused_on_both_sides() -> None:
    with pytest.raises(SettingsError, match=r"names database 15.*drop the /N"):
        redis_client.connect("redis://127.0.0.1:7000/15", cluster=True, socket_timeout=None,
                             socket_connect_timeout=1.0)
    # Refused before connecting (redis-py's sync cluster client connects when it is built).
    with pytest.raises(MonolithSettingsError, match=r"names database 15.*drop the /N"):
        extensions.build_redis("redis://127.0.0.1:7000/15", cluster=True)


@pytest.mark.parametrize("error", OUTAGES, ids=lambda e: type(e).__name__)
def test_a_cluster_outage_is_unavailable_on_both_sides(error: Exception) -> None:
    assert isinstance(error, redis_client.CLUSTER_UNAVAILABLE)
    assert isinstance(error, extensions.CLUSTER_UNAVAILABLE)
    assert redis_client.is_cluster_outage(error) and extensions.is_cluster_outage(error)


@pytest.mark.parametrize("error", REFUSED_COMMANDS, ids=str)
def test_a_command_the_cluster_client_refuses_is_a_bug_not_an_outage(error: Exception) -> None:
    assert not redis_client.is_cluster_outage(error)
    assert not extensions.is_cluster_outage(error)
