"""Running the Lua scripts: EVALSHA, falling back to SCRIPT LOAD only on NOSCRIPT.

What redis-py's registered Script does, without its per-call overhead (an import and argument
copies on every call, visible in profiles of the hot path).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError

from services.verification.redis_gate import RedisGate

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

    async def load(self) -> None:
        """Put the scripts in Redis' cache ahead of the first request (an optimisation only)."""
        for name in self.sources:
            await self.gate.call(functools.partial(self._load, name))

    async def _load(self, name: str) -> None:
        await self.client.script_load(self.sources[name])

    async def run(self, name: str, script_keys: list[str], args: list[Any]) -> Any:
        return await self.gate.call(lambda: self._evalsha(name, script_keys, args))

    async def _evalsha(self, name: str, script_keys: list[str], args: list[Any]) -> Any:
        """On NOSCRIPT (Redis restarted or flushed its script cache) load once and retry."""
        try:
            return await self.client.evalsha(self.shas[name], len(script_keys), *script_keys, *args)
        except NoScriptError:
            await self._load(name)
            return await self.client.evalsha(self.shas[name], len(script_keys), *script_keys, *args)
