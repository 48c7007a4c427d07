"""What the dispatcher waits out as Redis being unavailable (services/dispatcher/outage.py): the
errors redis-py's cluster client raises while a primary fails over, and uvloop's closed
transport, besides a lost connection; a refused or misrouted command is not one."""

from __future__ import annotations

import pytest
from redis.exceptions import (
    ClusterDownError,
    ConnectionError,
    MasterDownError,
    RedisClusterException,
    ResponseError,
    SlotNotCoveredError,
    TimeoutError,
    TryAgainError,
)

from services.dispatcher.outage import is_redis_outage


@pytest.mark.parametrize("error", [
    ConnectionError("Error 111 connecting to 127.0.0.1:7000. Connection refused."),
    TimeoutError("Timeout reading from socket"),
    ClusterDownError("CLUSTERDOWN The cluster is down"),
    MasterDownError("MASTERDOWN Link with MASTER is down"),
    TryAgainError("TRYAGAIN Multiple keys request during rehashing of slot"),
    SlotNotCoveredError("Command # 1 (XACK) could not find a node for slot 6939"),
    RedisClusterException("Redis Cluster cannot be connected. Please provide at least one "
                          "reachable node: Error 111 connecting to 127.0.0.1:7000."),
    RedisClusterException("All slots are not covered after query all startup_nodes."),
    RuntimeError("unable to perform operation on <TCPTransport closed=True>; "
                 "the handler is closed"),
])
def test_a_failover_or_a_lost_connection_is_an_outage(error: Exception) -> None:
    assert is_redis_outage(error)


@pytest.mark.parametrize("error", [
    ResponseError("NOGROUP No such key 'vfy3:{b7}:outbox' or consumer group"),
    RedisClusterException("CROSSSLOT Keys in request don't hash to the same slot"),
    RuntimeError("Event loop is closed"),
    ValueError("not Redis at all"),
])
def test_a_refused_command_or_a_bug_is_not(error: Exception) -> None:
    assert not is_redis_outage(error)
