"""Commands packed here (the scripts' EVALSHA, resp.pack) are byte for byte what redis-py sends."""

from __future__ import annotations

import pytest
from redis.asyncio.connection import Connection

from services.verification.resp import bulk, pack, wire
from services.verification.scripts import Tail, pack_evalsha

SHA = "0123456789abcdef0123456789abcdef01234567"
KEYS = ["v3:rec:{acme:abc}", "caf\u00e9", b"raw"]
ARGS = [b"inline", 3, "", 0, -7, "+14155550100", "x" * 7000, b"\x00\xff", 2**70]


def redis_py(*args: object) -> bytes:
    return b"".join(Connection().pack_command(*args))  # type: ignore[arg-type]


@pytest.mark.parametrize("tail", [[], [1, "a", b"b", 60_000]])
def test_as_redis_py_packs_it(tail: list[object]) -> None:
    packed = pack_evalsha(bulk("EVALSHA") + bulk(SHA), KEYS, ARGS, Tail.of(tail))  # type: ignore[arg-type]
    assert packed == redis_py("EVALSHA", SHA, len(KEYS), *KEYS, *ARGS, *tail)


def test_refuses_what_redis_py_refuses() -> None:
    with pytest.raises(TypeError):
        wire(True)
    with pytest.raises(TypeError):
        wire(1.5)  # type: ignore[arg-type]
    with pytest.raises(UnicodeEncodeError):
        pack_evalsha(b"", [], ["\ud800"])


def test_a_whole_command_as_redis_py_packs_it() -> None:
    args = ("XREADGROUP", "GROUP", "dispatchers", "host-1", "COUNT", 32, "BLOCK", 1000,
            "STREAMS", "vfy3:{b0}:outbox", "vfy:outbox", ">", ">")
    assert pack(*args) == redis_py(*args)
    assert pack(*ARGS) == redis_py(*ARGS)  # type: ignore[arg-type]
