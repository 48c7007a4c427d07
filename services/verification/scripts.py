"""Running the Lua scripts: EVALSHA, falling back to SCRIPT LOAD only on NOSCRIPT.

What redis-py's registered Script does, without its per-call overhead (an import and argument
copies on every call, visible in profiles of the hot path).

On a single node the command is packed here and written on a pooled connection directly
(resp.py): the arguments that only depend on settings are packed once (`Tail`), the rest per
call, in one pass. A cluster client routes each call itself: it gets the arguments.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError

from services.verification.redis_gate import RedisGate
from services.verification.resp import Wire, bulk, send_packed, wire

LUA_DIR = Path(__file__).parent / "lua"
# The scripts that read or write the version-3 packed record: record3.lua (its codec and shared
# helpers) is prepended to each, so each fact is written once.
RECORD_SCRIPTS = ("send", "check", "cancel")
# The read, and one-key scripts: an approval's tally; cluster mode's reserves, refunds, claim.
ONE_KEY_SCRIPTS = ("read", "tally_approval", "reserve", "refund", "reserve_tally", "refund_tally",
                   "idem_claim")
SCRIPT_NAMES = RECORD_SCRIPTS + ONE_KEY_SCRIPTS
# Shared parts, prepended in this order: the record's codec, and the conversion tally's reading
# and rule (judged inline by a send on a single node, by reserve_tally in cluster mode).
PRELUDES: dict[str, tuple[str, ...]] = {
    "send": ("record3", "tally"), "check": ("record3",), "cancel": ("record3",),
    "reserve_tally": ("tally",),
}


class Tail(NamedTuple):
    """Trailing arguments that only depend on settings: as values, and packed once."""

    values: tuple[bytes, ...]
    packed: bytes

    @classmethod
    def of(cls, values: Sequence[Wire]) -> Tail:
        wires = tuple(wire(value) for value in values)
        return cls(wires, b"".join(bulk(value) for value in wires))


NO_TAIL = Tail((), b"")


def pack_evalsha(head: bytes, script_keys: Sequence[Wire], args: Sequence[Wire],
                 tail: Tail = NO_TAIL) -> bytes:
    """EVALSHA <sha> <numkeys> keys... args... tail...; `head` is the packed EVALSHA and sha."""
    count = len(script_keys)
    # Built as text and encoded once: ASCII text as it is (its length is its bytes'), anything
    # else as its wire bytes read as Latin-1, which encodes back to those very bytes.
    text = []
    for value in (*script_keys, *args):
        if type(value) is str and value.isascii():
            text.append(f"${len(value)}\r\n{value}\r\n")
        else:
            data = wire(value)
            text.append(f"${len(data)}\r\n{data.decode('latin-1')}\r\n")
    return b"".join((b"*%d\r\n" % (3 + count + len(args) + len(tail.values)), head, bulk(count),
                     "".join(text).encode("latin-1"), tail.packed))


def load_script_sources() -> dict[str, str]:
    def read(name: str) -> str:
        return (LUA_DIR / f"{name}.lua").read_text("utf-8")

    return {name: "".join(read(part) for part in (*PRELUDES.get(name, ()), name))
            for name in SCRIPT_NAMES}


class Scripts:
    def __init__(self, client: Redis | RedisCluster, gate: RedisGate) -> None:
        self.client = client
        self.gate = gate
        self.sources = load_script_sources()
        self.shas = {
            name: hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
            for name, source in self.sources.items()
        }
        self.heads = {name: bulk("EVALSHA") + bulk(sha) for name, sha in self.shas.items()}
        # A node's pool to write on directly; None for a cluster client (it routes each call).
        self.pool = client.connection_pool if isinstance(client, Redis) else None

    async def load(self) -> None:
        """Put the scripts in Redis' cache ahead of the first request (an optimisation only)."""
        for name in self.sources:
            await self.gate.call(functools.partial(self._load, name))

    async def _load(self, name: str) -> None:
        await self.client.script_load(self.sources[name])

    async def run(self, name: str, script_keys: Sequence[Wire], args: Sequence[Wire],
                  tail: Tail = NO_TAIL) -> Any:
        """The script's reply; `tail`: arguments after `args`, packed once."""
        if self.pool is not None:
            packed = pack_evalsha(self.heads[name], script_keys, args, tail)
            return await self.gate.call(lambda: self._evalsha_packed(name, packed))
        every = (*args, *tail.values)
        return await self.gate.call(lambda: self._evalsha(name, script_keys, every))

    async def _evalsha_packed(self, name: str, packed: bytes) -> Any:
        """On NOSCRIPT (Redis restarted or flushed its script cache) load once and retry."""
        assert self.pool is not None
        try:
            return await send_packed(self.pool, packed)
        except NoScriptError:
            await self._load(name)
            return await send_packed(self.pool, packed)

    async def _evalsha(self, name: str, script_keys: Sequence[Wire], args: Sequence[Wire]) -> Any:
        """On NOSCRIPT (Redis restarted or flushed its script cache) load once and retry."""
        try:
            return await self.client.evalsha(self.shas[name], len(script_keys), *script_keys, *args)
        except NoScriptError:
            await self._load(name)
            return await self.client.evalsha(self.shas[name], len(script_keys), *script_keys, *args)
