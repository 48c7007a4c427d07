"""Load pending verifications straight into Redis, in the contract's format, fast.

Used for the check workload (ids to check against) and the many-pending run. Python makes what
needs the pepper (MAC, seal, destination and prefix hashes); redis_lua/load_pending.lua writes 1,000
verifications per call, several calls per pipeline. Destinations are `+447` + 9 digits, a range
the send workload never uses; codes never equal WRONG_CODE, so a bench check is always wrong.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path

import redis
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench import contract, phones

WRONG_CODE = "000000"
PER_CALL = 1000
CALLS_PER_PIPELINE = 10
SCRIPT = (Path(__file__).parent / "redis_lua" / "load_pending.lua").read_text()


def random_code() -> str:
    while True:
        code = f"{secrets.randbelow(10**6):06d}"
        if code != WRONG_CODE:
            return code


def _args(pepper: str, aead: AESGCM, first: int, last: int, ids: list[str]) -> list[str]:
    args: list[str] = []
    for index in range(first, last):
        verification_id, to = contract.new_id(), phones.us_mobile(phones.LOADER_AREA_CODE, index)
        code = random_code()
        args += [verification_id, to, contract.code_mac(pepper, code),
                 contract.seal_with(aead, verification_id, code),
                 contract.dest_hash(pepper, "sms", to), contract.prefix_hash(pepper, to)]
        ids.append(verification_id)
    return args


def load_pending(client: redis.Redis, *, pepper: str, start: int, count: int, ttl_s: int,
                 retention_s: int, progress: Callable[[str], None] = print) -> list[str]:
    """Write `count` pending verifications of the bench's client for destinations
    start..start+count-1; their ids."""
    sha = client.script_load(SCRIPT)
    aead = AESGCM(contract.seal_key(pepper))
    seconds, micros = client.time()
    head = [str(int(seconds) * 1000 + int(micros) // 1000), str(ttl_s * 1000),
            str((ttl_s + retention_s) * 1000), contract.CLIENT]
    ids: list[str] = []
    started, end, step = time.monotonic(), start + count, PER_CALL * CALLS_PER_PIPELINE
    for batch in range(start, end, step):
        pipe = client.pipeline(transaction=False)
        for first in range(batch, min(batch + step, end), PER_CALL):
            pipe.evalsha(sha, 0, *head, *_args(pepper, aead, first, min(first + PER_CALL, end),
                                               ids))
        pipe.execute()
        if count >= 50_000 and (len(ids) % 100_000 < step or len(ids) == count):
            rate = len(ids) / max(time.monotonic() - started, 1e-9)
            progress(f"  loaded {len(ids):,}/{count:,} pending verifications ({rate:,.0f}/s)")
    return ids
