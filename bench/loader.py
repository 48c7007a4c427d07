"""Load pending verifications straight into Redis, in the contract's format, fast.

Used to fill the keyspace for the many-pending run and to measure what one pending verification
costs in each storage version. Python makes what needs the pepper (MACs, seals, destination
keys) and packs the records; a Lua script writes 1,000 verifications per call, several calls per
pipeline. Version 3 (the default) writes `redis_lua/load_pending.lua`'s one packed string per
verification; version 2 `redis_lua/load_pending_v2.lua`'s record hash and pending index.
Destinations are `+1` + LOADER_AREA_CODE numbers, an area code the send workload never uses;
codes never equal WRONG_CODE, so a bench check is always wrong. Verifications belong to the
bench's client and carry no reference, as the bench's own sends.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import redis
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench import contract, phones

WRONG_CODE = "000000"
PER_CALL = 1000
CALLS_PER_PIPELINE = 10
STORAGE_VERSIONS = (2, 3)
_LUA = Path(__file__).parent / "redis_lua"
SCRIPTS = {3: (_LUA / "load_pending.lua").read_text(),
           2: (_LUA / "load_pending_v2.lua").read_text()}
PROGRESS_EVERY = 100_000


def random_code() -> str:
    while True:
        code = f"{secrets.randbelow(10**6):06d}"
        if code != WRONG_CODE:
            return code


class _Batches:
    """The script calls of one load: for each slice of destinations, its keys and its argv."""

    def __init__(self, pepper: str, version: int, now_ms: int, ttl_ms: int, record_ttl_ms: int,
                 keep_ids: int | None):
        self.pepper, self.version, self.keep_ids = pepper, version, keep_ids
        self.now_ms, self.ttl_ms, self.record_ttl_ms = now_ms, ttl_ms, record_ttl_ms
        self.aead = AESGCM(contract.seal_key(pepper))

    def _note(self, ids: list[str], verification_id: str) -> None:
        if self.keep_ids is None or len(ids) < self.keep_ids:
            ids.append(verification_id)

    def v3(self, first: int, last: int, ids: list[str]) -> tuple[list[str], list[str]]:
        keys: list[str] = []
        argv = [str(self.record_ttl_ms)]
        pepper, aead = self.pepper, self.aead
        for index in range(first, last):
            to = phones.us_mobile(phones.LOADER_AREA_CODE, index)
            dest_key = contract.dest_key(pepper, contract.CLIENT,
                                         contract.dest_hash(pepper, "sms", to))
            verification_id = contract.new_id(dest_key)
            code = random_code()
            keys.append(contract.record_key(contract.CLIENT, dest_key))
            argv.append(contract.pending_sms(
                contract.rand_of_id(verification_id), to, contract.code_mac16(pepper, code),
                contract.seal_v3(aead, pepper, verification_id, code), self.now_ms, self.ttl_ms))
            self._note(ids, verification_id)
        return keys, argv

    def v2(self, first: int, last: int, ids: list[str]) -> tuple[list[str], list[str]]:
        argv = [str(self.now_ms), str(self.ttl_ms), str(self.record_ttl_ms), contract.CLIENT]
        for index in range(first, last):
            verification_id = contract.v2_new_id()
            to = phones.us_mobile(phones.LOADER_AREA_CODE, index)
            code = random_code()
            argv += [verification_id, to, contract.code_mac(self.pepper, code),
                     contract.seal_v2(self.aead, verification_id, code),
                     contract.dest_hash(self.pepper, "sms", to),
                     contract.prefix_hash(self.pepper, to)]
            self._note(ids, verification_id)
        return [], argv

    def calls(self, start: int, end: int, ids: list[str]) -> Iterator[tuple[list[str], list[str]]]:
        make = self.v3 if self.version == 3 else self.v2
        for first in range(start, end, PER_CALL):
            yield make(first, min(first + PER_CALL, end), ids)


# Makers of the MACs and seals: processes, so that with Redis and the caller they use every core.
MAKERS = 2
PARALLEL_FROM = 50_000  # below, one process makes them: starting the makers costs more
_maker: _Batches | None = None


def _start_maker(pepper: str, version: int, now_ms: int, ttl_ms: int, record_ttl_ms: int,
                 keep_ids: int | None) -> None:
    global _maker
    _maker = _Batches(pepper, version, now_ms, ttl_ms, record_ttl_ms, keep_ids)


def _make(first: int, end: int) -> tuple[list[tuple[list[str], list[str]]], list[str]]:
    """One pipeline's script calls and the ids they write (in a maker process)."""
    assert _maker is not None, "_start_maker runs first"
    ids: list[str] = []
    return list(_maker.calls(first, end, ids)), ids


def load_pending(client: redis.Redis, *, pepper: str, start: int, count: int, ttl_s: int,
                 retention_s: int, storage_version: int = 3, keep_ids: int | None = None,
                 progress: Callable[[str], None] = print) -> list[str]:
    """Write `count` pending SMS verifications of the bench's client for the destinations
    start..start+count-1 in `storage_version`'s form; their ids (the first `keep_ids` of them
    when given: a million ids are 80 MB of Python strings the bulk load does not need)."""
    if storage_version not in STORAGE_VERSIONS:
        raise ValueError(f"storage version {storage_version} is not one of {STORAGE_VERSIONS}")
    sha = client.script_load(SCRIPTS[storage_version])
    seconds, micros = client.time()
    settings = (pepper, storage_version, int(seconds) * 1000 + int(micros) // 1000,
                ttl_s * 1000, (ttl_s + retention_s) * 1000, keep_ids)
    ids: list[str] = []
    loaded, started, end = 0, time.monotonic(), start + count
    step = PER_CALL * CALLS_PER_PIPELINE
    slices = [(first, min(first + step, end)) for first in range(start, end, step)]
    if count >= PARALLEL_FROM:
        # The makers work ahead (a bounded window, so memory stays flat) while Redis runs the
        # pipeline before.
        pool: Executor = ProcessPoolExecutor(MAKERS, mp_context=get_context("fork"),
                                             initializer=_start_maker, initargs=settings)
    else:
        _start_maker(*settings)
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-loader")
    with pool:
        ahead: deque[Future[tuple[list[tuple[list[str], list[str]]], list[str]]]] = deque(
            pool.submit(_make, *part) for part in slices[:MAKERS + 1])
        for position in range(len(slices)):
            calls, made = ahead.popleft().result()
            if position + MAKERS + 1 < len(slices):
                ahead.append(pool.submit(_make, *slices[position + MAKERS + 1]))
            ids += made if keep_ids is None else made[:max(keep_ids - len(ids), 0)]
            pipe = client.pipeline(transaction=False)
            for keys, argv in calls:
                pipe.evalsha(sha, len(keys), *keys, *argv)
            loaded += sum(int(written) for written in pipe.execute())
            if count >= PROGRESS_EVERY // 2 and (loaded % PROGRESS_EVERY < step
                                                 or loaded == count):
                rate = loaded / max(time.monotonic() - started, 1e-9)
                progress(f"  loaded {loaded:,}/{count:,} pending verifications "
                         f"(storage version {storage_version}, {rate:,.0f}/s)")
    return ids
