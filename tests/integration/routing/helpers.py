"""Small helpers for the gateway tests (edit the table on disk, count who served)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from routing.table.loader import load_table
from routing.table.store import save_table
from routing.table.weights import with_weights


def set_weights(table: Path, rule: str, weights: dict[str, int]) -> None:
    save_table(table, with_weights(load_table(table), rule, weights))


async def served_by(client: aiohttp.ClientSession, url: str, count: int,
                    concurrency: int = 32, **kwargs: object) -> Counter[str]:
    gate = asyncio.Semaphore(concurrency)
    seen: Counter[str] = Counter()

    async def one() -> None:
        async with gate, client.get(url, **kwargs) as response:  # type: ignore[arg-type]
            await response.read()
            seen[response.headers.get("X-Served-By", str(response.status))] += 1

    await asyncio.gather(*(one() for _ in range(count)))
    return seen


async def eventually(check: Callable[[], Awaitable[bool]], what: str,
                     timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.05)
