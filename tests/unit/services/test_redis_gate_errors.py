"""The gate turns a write on a transport a dying Redis node closed into a lost connection (503),
and lets every other error through unchanged."""

from __future__ import annotations

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from services.verification.redis_gate import RedisGate


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
