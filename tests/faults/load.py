"""A bounded asyncio load: a few workers, each repeating one kind of request against one target,
recording every exchange with monotonic start/end times so a test can line them up with faults."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.faults.api import AUTH

REQUEST_TIMEOUT_S = 3.0  # a request still unanswered after this long counts as hanging


@dataclass(frozen=True)
class Call:
    method: str
    url: str
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Probe:
    """One worker: `make` builds each request; `normal` are the statuses of a healthy answer."""

    target: str
    op: str
    make: Callable[[], Call]
    normal: frozenset[int]
    pause_s: float = 0.05


@dataclass(frozen=True)
class Outcome:
    target: str
    op: str
    call: Call
    started: float
    finished: float
    status: int | None  # None: no HTTP answer (timeout, refused, reset)
    error: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    normal: bool = False

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def describe(self) -> str:
        answer = self.error or f"{self.status} {dict(self.headers)} {str(self.body)[:300]}"
        return (f"[{self.target}/{self.op} t={self.started:.3f}..{self.finished:.3f}] "
                f"{self.call.method} {self.call.url} {self.call.json} -> {answer}")


async def exchange(client: httpx.AsyncClient, probe: Probe) -> Outcome:
    call = probe.make()
    started = time.monotonic()
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT_S):
            response = await client.request(call.method, call.url, json=call.json,
                                            headers=dict(call.headers))
    except (TimeoutError, httpx.HTTPError) as error:
        return Outcome(probe.target, probe.op, call, started, time.monotonic(), None,
                       error=f"{type(error).__name__}: {error}")
    finished = time.monotonic()
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:500]
    return Outcome(probe.target, probe.op, call, started, finished, response.status_code,
                   headers={k.lower(): v for k, v in response.headers.items()}, body=body,
                   normal=response.status_code in probe.normal)


async def run_load(probes: Iterable[Probe], stop: asyncio.Event, *, max_seconds: float,
                   max_requests_per_probe: int = 1000) -> list[Outcome]:
    """Run every probe until `stop` is set (or `max_seconds` pass); every outcome, in order."""
    outcomes: list[Outcome] = []
    deadline = time.monotonic() + max_seconds
    probes = list(probes)

    async def worker(client: httpx.AsyncClient, probe: Probe) -> None:
        for _ in range(max_requests_per_probe):
            if stop.is_set() or time.monotonic() > deadline:
                return
            outcomes.append(await exchange(client, probe))
            await asyncio.sleep(probe.pause_s)

    limits = httpx.Limits(max_connections=len(probes) * 2)
    async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT_S,
                                 headers=AUTH) as client:
        await asyncio.gather(*(worker(client, probe) for probe in probes))
    outcomes.sort(key=lambda outcome: outcome.started)
    return outcomes


async def burst(probes: Iterable[Probe], copies: int) -> list[Outcome]:
    """Each probe `copies` times at once: many users arriving together need many connections."""
    probes = list(probes)
    limits = httpx.Limits(max_connections=len(probes) * copies)
    async with httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT_S,
                                 headers=AUTH) as client:
        return list(await asyncio.gather(*(exchange(client, probe) for probe in probes
                                           for _ in range(copies))))


def summary(outcomes: Iterable[Outcome]) -> dict[str, dict[str, int]]:
    """Counts of answers per target, keyed by status (or 'error'), for the printed report."""
    counts: dict[str, dict[str, int]] = {}
    for outcome in outcomes:
        key = str(outcome.status) if outcome.status is not None else "error"
        per_target = counts.setdefault(outcome.target, {})
        per_target[key] = per_target.get(key, 0) + 1
    return counts
