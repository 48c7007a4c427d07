"""Every Redis call of the store: at most `slots` at once, each within one deadline.

This replaces redis-py's BlockingConnectionPool (a burst waits for a free connection instead of
failing) and its `socket_timeout` (a Redis that stops answering fails the request instead of
hanging it). Profiles of the hot path showed those two costing about a seventh of a request: a
Condition and a timer per checkout, and `asyncio.wait_for` (a new task) around every write. One
semaphore and one `asyncio.timeout` per call bound both just the same; an interrupted read or
write makes redis-py drop that connection, so no reply is ever read by the wrong caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# How long one Redis call may take, waiting for a connection included, before the request
# answers 503 (the web edge maps redis' TimeoutError to service_unavailable).
REDIS_DEADLINE_SECONDS = 2.0
# uvloop's answer to a write on a transport a dying node already closed. redis-py's asyncio
# connection expects OSError there and lets this through (seen while a cluster primary failed
# over): it is a lost connection like any other, so a 503, not a 500.
CLOSED_TRANSPORT = "handler is closed"

T = TypeVar("T")


class RedisGate:
    def __init__(self, slots: int, seconds: float = REDIS_DEADLINE_SECONDS) -> None:
        """`slots`: the connection pool's size, so the pool itself never runs out."""
        self.slots = asyncio.Semaphore(slots)
        self.seconds = seconds

    async def call(self, make: Callable[[], Awaitable[T]]) -> T:
        """`make()` awaited once a slot is free; redis' TimeoutError past the deadline."""
        try:
            async with asyncio.timeout(self.seconds):
                async with self.slots:
                    return await make()
        except TimeoutError:
            raise RedisTimeoutError(f"Redis did not answer within {self.seconds} s") from None
        except RuntimeError as error:
            if CLOSED_TRANSPORT not in str(error):
                raise
            raise RedisConnectionError(f"the connection to Redis closed: {error}") from error
