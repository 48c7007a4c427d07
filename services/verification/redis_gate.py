"""Every Redis call of the store: at most `slots` at once, each within one deadline.

This replaces redis-py's BlockingConnectionPool (a burst waits for a free connection instead of
failing) and its `socket_timeout` (a Redis that stops answering fails the request instead of
hanging it). Profiles of the hot path showed those two costing about a seventh of a request: a
Condition and a timer per checkout, and `asyncio.wait_for` (a new task) around every write. One
slot count and one timer per call bound both just the same; an interrupted read or write makes
redis-py drop that connection, so no reply is ever read by the wrong caller.

Both are written out here rather than taken from asyncio (Semaphore, `asyncio.timeout`): with a
free slot, taking it is a decrement; and the calls whose deadlines fall in the same tick (50 ms)
share one timer, which cancels those still running when it fires. A timer of their own, set and
cancelled on every call, cost about as much as the rest of the gate in profiles. So a call may
run up to a tick past its deadline before it fails.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# How long one Redis call may take, waiting for a connection included, before the request
# answers 503 (the web edge maps redis' TimeoutError to service_unavailable).
REDIS_DEADLINE_SECONDS = 2.0
# The deadlines' resolution: calls due in the same tick share a timer.
TICK_SECONDS = 0.05
# uvloop's answer to a write on a transport a dying node already closed. redis-py's asyncio
# connection expects OSError there and lets this through (seen while a cluster primary failed
# over): it is a lost connection like any other, so a 503, not a 500.
CLOSED_TRANSPORT = "handler is closed"

T = TypeVar("T")


class _Deadline:
    """Cancels `task` when it fires; `fired` tells that cancellation from any other."""

    __slots__ = ("fired", "task")

    def __init__(self, task: asyncio.Task[object]) -> None:
        self.task = task
        self.fired = False

    def __call__(self) -> None:
        self.fired = True
        self.task.cancel()


class RedisGate:
    def __init__(self, slots: int, seconds: float = REDIS_DEADLINE_SECONDS) -> None:
        """`slots`: the connection pool's size, so the pool itself never runs out."""
        self.free = slots
        self.waiting: deque[asyncio.Future[None]] = deque()
        self.seconds = seconds
        # The calls running or waiting, by the tick their deadline falls in (one timer each).
        self.due: dict[int, set[_Deadline]] = {}

    async def call(self, make: Callable[[], Awaitable[T]]) -> T:
        """`make()` awaited once a slot is free; redis' TimeoutError past the deadline."""
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        cancelling = task.cancelling()
        deadline = _Deadline(task)
        tick = math.ceil((loop.time() + self.seconds) / TICK_SECONDS)
        calls = self.due.get(tick)
        if calls is None:
            calls = self.due[tick] = set()
            loop.call_at(tick * TICK_SECONDS, self._expire, tick)
        calls.add(deadline)
        try:
            if self.free and not self.waiting:
                self.free -= 1
            else:
                await self._wait(loop)
            try:
                return await make()
            finally:
                self._release()
        except asyncio.CancelledError:
            # Ours only if the deadline fired and nothing else also cancelled the task.
            if deadline.fired and task.uncancel() <= cancelling:
                raise RedisTimeoutError(
                    f"Redis did not answer within {self.seconds} s") from None
            raise
        except RuntimeError as error:
            if CLOSED_TRANSPORT not in str(error):
                raise
            raise RedisConnectionError(f"the connection to Redis closed: {error}") from error
        finally:
            calls.discard(deadline)

    def _expire(self, tick: int) -> None:
        for deadline in self.due.pop(tick, ()):
            deadline()

    async def _wait(self, loop: asyncio.AbstractEventLoop) -> None:
        """Until a release hands this call its slot (first come, first served)."""
        turn: asyncio.Future[None] = loop.create_future()
        self.waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._release()  # handed a slot while being cancelled: pass it on
            elif turn in self.waiting:  # a release may have skipped it already
                self.waiting.remove(turn)
            raise

    def _release(self) -> None:
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot goes to the first waiter, not back to the count
                return
        self.free += 1
