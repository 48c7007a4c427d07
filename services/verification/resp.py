"""Commands packed here (RESP) and written on a node's pooled connection directly.

redis-py packs every argument through its generic encoder and wraps each call in layers of its
own; on the hot paths (a send's EVALSHA, the dispatcher's XREADGROUP of every stream) profiles
showed that costing a seventh of a send and most of a read. The connection's own
`send_packed_command` and `read_response` still do the writing and reading, so a failed or
interrupted call drops that connection just as through `execute_command`, and a reply is parsed
(and decoded) the same way. Only for a single node: a cluster client routes each call itself.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio.connection import ConnectionPool

Wire = bytes | str | int


def wire(value: Wire) -> bytes:
    """An argument as redis-py's Encoder sends it: bytes as they are, text as UTF-8 (strict),
    an int in decimal. A bool is refused, as redis-py refuses it."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value).encode()
    raise TypeError(f"not a Redis argument: {value!r}")


def bulk(value: Wire) -> bytes:
    """One RESP bulk string."""
    data = wire(value)
    return b"$%d\r\n%s\r\n" % (len(data), data)


def pack(*args: Wire) -> bytes:
    """A whole command: an array of bulk strings."""
    return b"*%d\r\n" % len(args) + b"".join(bulk(value) for value in args)


async def send_packed(pool: ConnectionPool, packed: bytes) -> Any:
    """One command on a pooled connection, as `execute_command` without retries: the
    connection drops itself on a failed or interrupted write or read."""
    connection = await pool.get_connection()  # type: ignore[no-untyped-call]
    try:
        await connection.send_packed_command(packed)
        return await connection.read_response()
    finally:
        await pool.release(connection)
