"""The dispatcher is SIGKILLed in the middle of a burst of accepted sends and started again: every
accepted send ends up in the inbox exactly once, or in `vfy:outbox:dead`; none is lost. The jobs
are in whichever outbox their version writes: the 64 `vfy3:{b<n>}:outbox` buckets or
`vfy:outbox`."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
import redis

from services.verification import keys
from tests.faults.api import (
    AUTH,
    SEND_PATH,
    Findings,
    ReportFn,
    as_client,
    messages,
    new_client_ip,
    new_email,
    new_phone,
)
from tests.faults.stack_control import FaultStack

SENDS = 120
KILL_AFTER = 40  # accepted sends before the SIGKILL; the rest pile up while it is dead
CONCURRENCY = 6
DRAIN_TIMEOUT_S = 30.0
SETTLE_S = 2.5  # longer than the dispatcher's first retry backoff (1 s): late duplicates show


async def send_burst(urls: list[str], accepted: dict[str, str], kill_at: asyncio.Event) -> list[
        str]:
    """SENDS sends (2 of 3 by SMS) spread over `urls`; fills `accepted` (to -> id) as 201s come."""
    refused: list[str] = []
    queue = list(range(SENDS))

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            n = queue.pop()
            to, channel = (new_email(), "email") if n % 3 == 0 else (new_phone(), "sms")
            response = await client.post(urls[n % len(urls)] + SEND_PATH,
                                         json={"to": to, "channel": channel},
                                         headers=as_client(new_client_ip()))
            if response.status_code == 201:
                accepted[to] = response.json()["id"]
                if len(accepted) >= KILL_AFTER:
                    kill_at.set()
            else:
                refused.append(f"{response.status_code} {response.text[:200]}")

    async with httpx.AsyncClient(timeout=10.0, headers=AUTH) as client:
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
    return refused


OUTBOX_STREAMS = (*keys.v3_outbox_streams(), keys.OUTBOX_STREAM)


def outbox_entries(client: redis.Redis) -> int:
    """Jobs in every outbox stream (the dispatcher deletes each it settles)."""
    pipe = client.pipeline(transaction=False)
    for stream in OUTBOX_STREAMS:
        pipe.xlen(stream)
    return sum(pipe.execute())


def delivered_counts(http: httpx.Client, inbox: str) -> Counter[str]:
    return Counter(str(m["to"]).lower() for m in messages(http, inbox))


async def test_dispatcher_killed_mid_stream_delivers_each_accepted_send_once(
        stack: FaultStack, http: httpx.Client, report: ReportFn) -> None:
    inbox = stack.url("devinbox")
    urls = [stack.url("send"), stack.url("monolith"), stack.url("gateway")]
    accepted: dict[str, str] = {}
    kill_at = asyncio.Event()
    burst = asyncio.create_task(send_burst(urls, accepted, kill_at))
    await asyncio.wait_for(kill_at.wait(), 30)
    await asyncio.to_thread(stack.kill, "dispatcher")
    accepted_at_kill = len(accepted)
    delivered_at_kill = sum(delivered_counts(http, inbox).values())
    refused = await burst
    pending_while_dead = await asyncio.to_thread(outbox_entries, stack.redis())
    restarted = time.monotonic()
    await asyncio.to_thread(stack.restart, "dispatcher")

    dead_ids: set[str] = set()
    while True:
        counts = delivered_counts(http, inbox)
        dead_ids = {e.get("verification_id", "") for e in stack.stream("vfy:outbox:dead")}
        missing = [to for to, vid in accepted.items() if not counts[to] and vid not in dead_ids]
        if not missing or time.monotonic() - restarted > DRAIN_TIMEOUT_S:
            break
        await asyncio.sleep(0.2)
    drained_after = time.monotonic() - restarted
    await asyncio.sleep(SETTLE_S)
    counts = delivered_counts(http, inbox)
    client = stack.redis()
    outbox_left = outbox_entries(client)
    client.close()

    per_send = Counter(counts[to] for to in accepted)
    duplicates = {to: counts[to] for to in accepted if counts[to] > 1}
    lost = [f"{to} ({vid})" for to, vid in accepted.items()
            if not counts[to] and vid not in dead_ids]
    report("dispatcher_kill_accepted_sends", len(accepted))
    report("dispatcher_kill_accepted_at_kill", accepted_at_kill)
    report("dispatcher_kill_delivered_at_kill", delivered_at_kill)
    report("dispatcher_kill_outbox_entries_while_dead", pending_while_dead)
    report("dispatcher_kill_all_delivered_after_restart_s", round(drained_after, 2))
    report("dispatcher_kill_messages_per_accepted_send", dict(per_send))
    report("dispatcher_kill_dead_lettered", len(dead_ids & set(accepted.values())))

    found = Findings()
    found.expect(not refused, f"{len(refused)} sends were not accepted", refused)
    found.expect(delivered_at_kill < accepted_at_kill or pending_while_dead > 0,
                 "nothing was left undelivered at the kill: the test proved nothing")
    found.expect(not lost, f"{len(lost)} accepted sends never delivered nor dead-lettered", lost)
    found.expect(not duplicates, f"{len(duplicates)} destinations got the code more than once "
                 "(a delivery the killed dispatcher made but had not acknowledged was redone)",
                 [f"{to} ({accepted[to]}): {n} messages, received at "
                  f"{[m['received_at'] for m in messages(http, inbox, to)]}"
                  for to, n in duplicates.items()])
    found.expect(outbox_left == 0, f"{outbox_left} entries still in the outboxes after draining")
    found.assert_none()
