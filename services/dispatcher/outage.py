"""Which errors say "Redis is unavailable for now": the dispatcher waits those out (the loop
pauses, a delivered job's settle is retried, a lease renewal is skipped); it never crashes on one.

Besides a lost connection or a timeout: a cluster that is failing over or moving a slot
(services/verification/redis_client.py CLUSTER_UNAVAILABLE, RedisClusterException being no
RedisError), and uvloop's RuntimeError on a write to a transport a dying node already closed
(services/verification/redis_gate.py CLOSED_TRANSPORT).
"""

from __future__ import annotations

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.verification.redis_client import CLUSTER_UNAVAILABLE, is_cluster_outage
from services.verification.redis_gate import CLOSED_TRANSPORT


def is_redis_outage(error: BaseException) -> bool:
    if isinstance(error, RedisConnectionError | RedisTimeoutError):
        return True
    if isinstance(error, CLUSTER_UNAVAILABLE):
        return is_cluster_outage(error)
    return isinstance(error, RuntimeError) and CLOSED_TRANSPORT in str(error)
