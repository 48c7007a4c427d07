"""The gate turns a write on a transport a dying Redis node closed into a lost connection (503),
and lets every other error through unchanged; it bounds the calls at once (a burst waits, first
come first served) and each call's time (redis' TimeoutError), and always gives its slot back."""

from __future__ import annotations

import asyncio
import functools
import time

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.verification.redis_gate import TICK_SECONDS, RedisGate


async def test_a_closed_transport_is_a_lost_connection() -> None:
    async def write_on_closed_transport() -> None:
        # What uvloop raises (seen while a cluster primary failed over under load).
        raise RuntimeError("unable to perform operation on <TCPTransport closed=True "
                           "reading=False 0x5569dc344c20>; the handler is closed")

    with pytest.raises(RedisConnectionError, match="closed"):
        await RedisGate(1).call(write_on_closed_transport)


async def test_another_runtime_error_is_not_hidden() -> None:
    async def bug() -> None:
        raise RuntimeError("a bug of ours")

    with pytest.raises(RuntimeError, match="a bug of ours"):
        await RedisGate(1).call(bug)


async def test_a_burst_waits_for_slots_first_come_first_served() -> None:
    gate = RedisGate(2)
    running: list[int] = []
    most = 0
    order: list[int] = []

    async def call(n: int) -> int:
        nonlocal most
        running.append(n)
        most = max(most, len(running))
        await asyncio.sleep(0.01)
        running.remove(n)
        order.append(n)
        return n

    results = await asyncio.gather(*(gate.call(functools.partial(call, n)) for n in range(7)))
    assert results == list(range(7))
    assert most == 2
    assert order[:2] == [0, 1] and sorted(order) == list(range(7))
    assert gate.free == 2 and not gate.waiting


async def test_past_the_deadline_a_redis_timeout_and_the_slot_comes_back() -> None:
    gate = RedisGate(1, seconds=0.05)

    async def hang() -> None:
        await asyncio.sleep(10)

    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(RedisTimeoutError):
        await gate.call(hang)
    assert 0.05 <= loop.time() - started < 0.05 + TICK_SECONDS + 0.05  # within a tick, and slack
    assert gate.free == 1 and not gate.due
    # A call that waited for the slot past its deadline times out too, and leaves no waiter.
    first = asyncio.ensure_future(gate.call(hang))
    await asyncio.sleep(0)
    with pytest.raises(RedisTimeoutError):
        await gate.call(hang)
    with pytest.raises(RedisTimeoutError):
        await first
    assert gate.free == 1 and not gate.waiting

    async def answer() -> str:
        return "ok"

    assert await gate.call(answer) == "ok"


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    gate = RedisGate(1, seconds=5)
    started = asyncio.Event()

    async def hang() -> None:
        started.set()
        await asyncio.sleep(10)

    task = asyncio.ensure_future(gate.call(hang))
    waiter = asyncio.ensure_future(gate.call(hang))
    await started.wait()
    waiter.cancel()
    task.cancel()
    for cancelled in (task, waiter):
        with pytest.raises(asyncio.CancelledError):
            await cancelled
    assert gate.free == 1 and not gate.waiting


async def test_a_waiter_cancelled_as_it_is_handed_the_slot_passes_it_on() -> None:
    gate = RedisGate(1, seconds=5)
    waiters: list[asyncio.Future[object]] = []

    async def hold() -> None:
        await asyncio.sleep(0.01)
        # Runs after this call's release handed the slot to the first waiter, before it runs.
        asyncio.get_running_loop().call_soon(waiters[0].cancel)

    holder = asyncio.ensure_future(gate.call(hold))
    await asyncio.sleep(0)
    waiters += [asyncio.ensure_future(gate.call(functools.partial(asyncio.sleep, 0, n)))
                for n in (2, 3)]
    await holder
    with pytest.raises(asyncio.CancelledError):
        await waiters[0]
    assert await asyncio.wait_for(waiters[1], 1) == 3
    assert gate.free == 1 and not gate.waiting


async def test_cancelled_from_elsewhere_as_the_deadline_passes_stays_a_cancellation() -> None:
    gate = RedisGate(1, seconds=0.01)
    loop = asyncio.get_running_loop()

    async def slow() -> None:
        loop.call_soon(task.cancel)  # in the same turn of the loop as the deadline's timer
        time.sleep(0.1)  # the timer is due when the loop runs next
        await asyncio.sleep(1)

    task = asyncio.ensure_future(gate.call(slow))
    with pytest.raises(asyncio.CancelledError):
        await task
    assert gate.free == 1
