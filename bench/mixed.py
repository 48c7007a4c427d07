"""The mixed flow: send, read the code from the dev inbox, check it. wrk cannot do this (a step
needs data from another server's answer), so it is an asyncio client: `concurrency` loops of
complete flows for a fixed time, each flow timed per step. `sweep` raises the concurrency step by
step until flows/s stops growing: the best step is the system's mixed throughput, and the step
that carries about half of it gives the latency at half load."""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp

from bench import phones
from bench.http import AUTH, benchmark_ip

CODE_PATTERN = re.compile(r"code is (\d{4,10})")
DELIVERY_TIMEOUT_S = 10.0


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (share in 0..1) of values; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(share * len(ordered))))
    return ordered[rank - 1]


def curve_stopped(flows_per_s: list[float], *, min_gain: float = 0.05,
                  flat_steps: int = 2) -> bool:
    """True once flows/s (one figure per concurrency step, in order) has grown by less than
    min_gain over the best so far `flat_steps` times in a row: more concurrency adds only
    queueing, so the best step is the mixed throughput."""
    best, flat = 0.0, 0
    for value in flows_per_s:
        if best > 0 and value < best * (1 + min_gain):
            flat += 1
        else:
            flat = 0
        best = max(best, value)
        if flat >= flat_steps:
            return True
    return False


@dataclass
class Tally:
    steps: dict[str, list[float]] = field(
        default_factory=lambda: {"send": [], "delivery": [], "check": [], "flow": []})
    failures: dict[str, int] = field(default_factory=dict)

    def fail(self, reason: str) -> None:
        self.failures[reason] = self.failures.get(reason, 0) + 1


async def _code(session: aiohttp.ClientSession, inbox: str, to: str) -> str | None:
    """One request that the inbox answers as soon as the message is stored (devinbox/arrivals.py):
    delivery is timed exactly, and no polling load competes with the system measured."""
    url = f"{inbox}/messages?to={quote(to)}&wait={DELIVERY_TIMEOUT_S:g}"
    async with session.get(url) as response:
        messages = (await response.json()).get("messages", [])
    for message in messages:
        found = CODE_PATTERN.search(str(message.get("body", "")))
        if found:
            return found.group(1)
    return None


async def _flow(session: aiohttp.ClientSession, urls: tuple[str, str, str], index: int,
                tally: Tally) -> None:
    send_url, check_url, inbox = urls
    to = phones.us_mobile(phones.MIXED_AREA_CODE, index)
    started = time.monotonic()
    async with session.post(f"{send_url}/api/verifications", json={"to": to, "channel": "sms"},
                            headers={"X-Forwarded-For": benchmark_ip(50_000 + index)}) as reply:
        created = await reply.json(content_type=None)
        if reply.status != 201:
            return tally.fail(f"send {reply.status} {created.get('code', '')}".strip())
    sent = time.monotonic()
    code = await _code(session, inbox, to)
    if code is None:
        return tally.fail("no message in the dev inbox within 10s")
    delivered = time.monotonic()
    async with session.post(f"{check_url}/api/verification-checks",
                            json={"verification_id": created["id"], "code": code}) as reply:
        checked = await reply.json(content_type=None)
        if reply.status != 200 or checked.get("valid") is not True:
            return tally.fail(f"check {reply.status} valid={checked.get('valid')}")
    done = time.monotonic()
    for step, seconds in (("send", sent - started), ("delivery", delivered - sent),
                          ("check", done - delivered), ("flow", done - started)):
        tally.steps[step].append(seconds * 1000)


async def _run(urls: tuple[str, str, str], concurrency: int, duration_s: float,
               first_index: int) -> tuple[Tally, float]:
    tally, counter = Tally(), iter(range(first_index, first_index + 10**8))
    deadline = time.monotonic() + duration_s
    timeout = aiohttp.ClientTimeout(total=DELIVERY_TIMEOUT_S + 5)

    async def loop(session: aiohttp.ClientSession) -> None:
        while time.monotonic() < deadline:
            try:
                await _flow(session, urls, next(counter), tally)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                tally.fail(type(exc).__name__)

    started = time.monotonic()
    async with aiohttp.ClientSession(timeout=timeout, headers=AUTH) as session:
        await asyncio.gather(*(loop(session) for _ in range(concurrency)))
    return tally, time.monotonic() - started


def run(send_url: str, check_url: str, inbox: str, *, concurrency: int, duration_s: float,
        first_index: int = 0) -> dict[str, Any]:
    """Complete flows for duration_s; flows/s, failures by reason, step percentiles in ms."""
    tally, elapsed = asyncio.run(
        _run((send_url, check_url, inbox), concurrency, duration_s, first_index))
    flows = len(tally.steps["flow"])
    summary: dict[str, Any] = {
        "flows": flows, "flows_per_s": round(flows / elapsed, 1), "failures": tally.failures,
        "concurrency": concurrency,
    }
    for step, values in tally.steps.items():
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        summary[f"{step}_p50_ms"] = round(p50, 2) if p50 is not None else None
        summary[f"{step}_p99_ms"] = round(p99, 2) if p99 is not None else None
    return summary


SWEEP_CONCURRENCY = (1, 2, 4, 8, 16, 32, 64, 128)


def sweep(send_url: str, check_url: str, inbox: str, *, step_s: float,
          concurrencies: tuple[int, ...] = SWEEP_CONCURRENCY, repeat: int = 1,
          progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """`run` at each concurrency (`repeat` times, the median by flows/s kept, every flows/s in
    "flows_per_s_samples" and every flow counted in "flows_all_repeats") until curve_stopped; the
    best step's summary, plus "curve" (every step) and "half_load" (the lowest concurrency that
    carried at least half the best flows/s: a closed-loop client's nearest point to half of the
    maximum load)."""
    # Each run has destinations of its own: none resends to another's (the per-number limits).
    per_run = phones.NUMBERS_PER_AREA_CODE // (len(concurrencies) * repeat)
    curve: list[dict[str, Any]] = []
    for step, concurrency in enumerate(concurrencies):
        runs = sorted((run(send_url, check_url, inbox, concurrency=concurrency,
                           duration_s=step_s,
                           first_index=(step * repeat + again) * per_run)
                       for again in range(repeat)),
                      key=lambda summary: float(summary["flows_per_s"]))
        summary = {**runs[len(runs) // 2],
                   "flows_per_s_samples": [point["flows_per_s"] for point in runs],
                   "flows_all_repeats": sum(int(point["flows"]) for point in runs)}
        curve.append(summary)
        if progress is not None:
            progress(summary)
        if curve_stopped([point["flows_per_s"] for point in curve]):
            break
    best = max(curve, key=lambda point: float(point["flows_per_s"]))
    half = next(point for point in curve
                if float(point["flows_per_s"]) >= float(best["flows_per_s"]) / 2)
    return {**best, "curve": curve,
            "half_load": {key: half[key] for key in (
                "concurrency", "flows_per_s", "flow_p50_ms", "flow_p99_ms",
                "delivery_p50_ms", "delivery_p99_ms")}}
