"""Issue 14, item 4: the switch from storage version 2 to 3 under load, with both sides live.

Both real implementations (the monolith's Flask app, the services' FastAPI apps) run in-process on
one real Redis. Destinations are driven concurrently through sends, resends, wrong and right checks,
each request sent to either side at random, while the sides are switched one at a time from
writing version 2 to writing version 3 (docs/storage-contract.md "Migration from version 2"),
each switch a rolling one: for a while every request goes at random to an old or a new instance.

What a client must never see, checked on every response against a model of each destination:
- a pending verification lost (a send answering 201 while one is live, or a resend or check by
  `to` naming another id),
- an attempt budget reset (send_attempts or check_attempts not one more than before; a lockout
  that does not hold across the switch),
- a code accepted twice (an approved code, checked again on either side, by id or by `to`).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import redis
from flask import Flask

from monolith import create_app as create_monolith
from monolith.settings import Settings as MonolithSettings
from services.send.app import create_app as create_send_app
from services.verification import keys
from services.verify.app import create_app as create_verify_app
from tests.integration.services.support import learn_code, make_settings, serve
from tests.support.api_keys import shared_key, shared_keyring_file

pytestmark = pytest.mark.single_node("version-2 data exists only on a single node")

PEPPER = "integration-test-pepper"
MAX_CHECKS = 5
MAX_SENDS = 5
DESTINATIONS = 24
LOCKOUTS = 4  # destinations that spend their whole check budget across the switch
PHASE_SECONDS = 3.0
# Limits out of the way: what is judged here is the verification's own budgets.
LIMITS: dict[str, Any] = {
    "code_ttl_seconds": 300, "retention_seconds": 300, "resend_cooldown_seconds": 0,
    "max_sends": MAX_SENDS, "max_checks": MAX_CHECKS, "dest_limit": 1_000_000,
    "ip_limit": 1_000_000, "client_send_limit": 1_000_000, "dest_failed_checks_per_day": 1_000,
    "sms_prefix_limit": 1_000_000, "prefix_guard_min_sms": 1_000_000,
    "sms_global_limit": 1_000_000,
}
AUTH = shared_key().authorization


class MonolithSide:
    """The monolith at one write version, called from threads (Flask's test client is sync)."""

    def __init__(self, redis_url: str, version: int) -> None:
        settings = MonolithSettings(redis_url=redis_url, code_pepper=PEPPER,
                                    keyring_file=shared_keyring_file(),
                                    storage_write_version=version, **LIMITS)
        self.app: Flask = create_monolith(settings)
        self.version = version

    async def call(self, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, Any]:
        def run() -> tuple[int, Any]:
            client = self.app.test_client()
            reply = client.open(path, method=method, json=body, headers=AUTH,
                                environ_base={"REMOTE_ADDR": "203.0.113.7"})
            return reply.status_code, reply.get_json(silent=True)

        return await asyncio.to_thread(run)

    def close(self) -> None:
        self.app.extensions["monolith"].redis.close()


@dataclass
class ServicesSide:
    send: httpx.AsyncClient
    verify: httpx.AsyncClient
    version: int

    async def call(self, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, Any]:
        client = self.verify if path.startswith("/api/verification-checks") else self.send
        reply = await client.request(method, path, json=body)
        return reply.status_code, reply.json() if reply.content else None


@asynccontextmanager
async def services_side(stack: AsyncExitStack, redis_url: str, version: int
                        ) -> AsyncIterator[ServicesSide]:
    settings = make_settings(redis_url, storage_write_version=version, **LIMITS)
    send = await stack.enter_async_context(serve(create_send_app(settings)))
    verify = await stack.enter_async_context(serve(create_verify_app(settings)))
    yield ServicesSide(send, verify, version)


Side = MonolithSide | ServicesSide


@dataclass
class Fleet:
    """The instances of each side that take traffic now: one version, or two while it rolls."""

    monolith: list[MonolithSide]
    services: list[ServicesSide]

    def pick(self, rng: random.Random) -> Side:
        instances: list[Side] = [*self.monolith, *self.services]
        return rng.choice(instances)

    def every(self) -> list[Side]:
        return [*self.monolith, *self.services]


@dataclass
class Destination:
    to: str
    live: str | None = None
    sends: int = 0
    checks: int = 0
    approved: list[tuple[str, str]] = field(default_factory=list)  # (id, code)
    verifications: int = 0


def wrong(code: str) -> str:
    return "".join(str((int(digit) + 1) % 10) for digit in code)


class Violation(AssertionError):
    pass


def expect(condition: bool, what: str, reply: tuple[int, Any], side: Side) -> None:
    if not condition:
        raise Violation(f"{what}: {type(side).__name__} v{side.version} answered {reply}")


async def drive(dest: Destination, fleet: Fleet, redis_client: redis.Redis, until: float,
                rng: random.Random) -> None:
    """Sends, resends, wrong and right checks on one destination until `until`."""
    while time.monotonic() < until:
        side = fleet.pick(rng)
        if dest.live is None:
            reply = await side.call("POST", "/api/verifications", {"to": dest.to, "channel": "sms"})
            expect(reply[0] == 201, "a send with nothing live creates", reply, side)
            dest.live, dest.sends, dest.checks = reply[1]["id"], 1, 0
            dest.verifications += 1
        elif dest.sends < MAX_SENDS and rng.random() < 0.3:
            reply = await side.call("POST", "/api/verifications", {"to": dest.to, "channel": "sms"})
            expect(reply[0] == 200 and reply[1]["id"] == dest.live,
                   "a send while one is live resends that one", reply, side)
            expect(reply[1]["send_attempts"] == dest.sends + 1, "send_attempts counts on", reply,
                   side)
            expect(reply[1]["check_attempts"] == dest.checks, "check_attempts kept", reply, side)
            dest.sends += 1
        else:
            code = learn_code(redis_client, dest.live)
            right = dest.checks >= MAX_CHECKS - 2 or rng.random() < 0.5
            by = {"to": dest.to} if rng.random() < 0.5 else {"verification_id": dest.live}
            reply = await side.call("POST", "/api/verification-checks",
                                    {**by, "code": code if right else wrong(code)})
            expect(reply[0] == 200 and reply[1]["verification_id"] == dest.live,
                   "a check finds the live verification", reply, side)
            expect(reply[1]["check_attempts"] == dest.checks + 1, "check_attempts counts on",
                   reply, side)
            dest.checks += 1
            if right:
                expect(reply[1]["status"] == "approved", "the right code approves", reply, side)
                dest.approved.append((dest.live, code))
                dest.live = None
            else:
                expect(reply[1]["status"] == "pending", "a wrong code leaves it pending", reply,
                       side)
        await asyncio.sleep(rng.random() * 0.01)


async def lock_out(dest: Destination, fleet: Fleet, redis_client: redis.Redis, gap: float,
                   rng: random.Random) -> None:
    """One verification whose check budget is spent a wrong code at a time, `gap` apart, so the
    budget is spent partly before and partly after each switch; then it stays locked."""
    side = fleet.pick(rng)
    reply = await side.call("POST", "/api/verifications", {"to": dest.to, "channel": "sms"})
    expect(reply[0] == 201, "a send with nothing live creates", reply, side)
    dest.live = reply[1]["id"]
    code = learn_code(redis_client, dest.live)
    for attempt in range(1, MAX_CHECKS + 1):
        await asyncio.sleep(gap)
        side = fleet.pick(rng)
        reply = await side.call("POST", "/api/verification-checks",
                                {"to": dest.to, "code": wrong(code)})
        expect(reply[0] == 200 and reply[1]["check_attempts"] == attempt,
               "each wrong code counts once, whichever side and version", reply, side)
    expect(reply[1]["status"] == "max_attempts_reached", "the budget is spent", reply, side)
    for _ in range(3):
        side = fleet.pick(rng)
        reply = await side.call("POST", "/api/verification-checks",
                                {"verification_id": dest.live, "code": code})
        expect(reply[0] == 429 and reply[1]["code"] == "max_check_attempts_reached",
               "a locked verification refuses even the right code", reply, side)
        reply = await side.call("POST", "/api/verifications", {"to": dest.to, "channel": "sms"})
        expect(reply[0] == 429 and reply[1]["code"] == "max_check_attempts_reached",
               "a locked destination gets no fresh budget", reply, side)


async def codes_are_spent(dest: Destination, fleet: Fleet) -> None:
    for verification_id, code in dest.approved:
        for side in fleet.every():
            reply = await side.call("POST", "/api/verification-checks",
                                    {"verification_id": verification_id, "code": code})
            expect(reply[0] == 404, "an approved code is never accepted again", reply, side)
            reply = await side.call("GET", f"/api/verifications/{verification_id}", None)
            expect(reply[0] == 200 and reply[1]["status"] == "approved",
                   "an approved verification reads approved on every side", reply, side)


def stored_versions(client: redis.Redis) -> dict[int, int]:
    v2 = sum(1 for _ in client.scan_iter(match=keys.RECORD_PREFIX + "*", count=1000))
    v3 = sum(1 for _ in client.scan_iter(match=keys.V3_PREFIX + "*:d:*", count=1000))
    return {2: v2, 3: v3}


ORDERS = {
    # Each step: the monolith's and the services' write versions once it has rolled out.
    "services first": [(2, 2), (2, 3), (3, 3)],
    "monolith first": [(2, 2), (3, 2), (3, 3)],
}


@pytest.mark.parametrize("order", list(ORDERS))
async def test_switching_writers_loses_nothing_and_resets_no_budget(
    order: str, redis_url: str, redis_client: redis.Redis
) -> None:
    rng = random.Random(14)
    steps = ORDERS[order]
    async with AsyncExitStack() as stack:
        monoliths = {v: MonolithSide(redis_url, v) for v in (2, 3)}
        for monolith in monoliths.values():
            stack.callback(monolith.close)
        services = {v: await stack.enter_async_context(services_side(stack, redis_url, v))
                    for v in (2, 3)}
        first_m, first_s = steps[0]
        fleet = Fleet([monoliths[first_m]], [services[first_s]])
        destinations = [Destination(f"+1415555{1000 + n:04d}") for n in range(DESTINATIONS)]
        lockouts = [Destination(f"+1415556{1000 + n:04d}") for n in range(LOCKOUTS)]
        total = PHASE_SECONDS * (2 * len(steps) - 1)
        until = time.monotonic() + total

        async def roll() -> None:
            for previous, step in itertools.pairwise(steps):
                await asyncio.sleep(PHASE_SECONDS)
                # Rolling: old and new instances of the side that moves take traffic together.
                fleet.monolith = [monoliths[v] for v in sorted({previous[0], step[0]})]
                fleet.services = [services[v] for v in sorted({previous[1], step[1]})]
                await asyncio.sleep(PHASE_SECONDS)
                fleet.monolith, fleet.services = [monoliths[step[0]]], [services[step[1]]]

        gap = total / (MAX_CHECKS + 1)
        await asyncio.gather(
            roll(),
            *(drive(d, fleet, redis_client, until, random.Random(rng.random()))
              for d in destinations),
            *(lock_out(d, fleet, redis_client, gap, random.Random(rng.random()))
              for d in lockouts),
        )
        everyone = Fleet(list(monoliths.values()), list(services.values()))
        for dest in destinations:
            await codes_are_spent(dest, everyone)
        approvals = sum(len(d.approved) for d in destinations)
        created = sum(d.verifications for d in destinations)
        versions = stored_versions(redis_client)
    assert approvals >= DESTINATIONS, "the load approved too few verifications to mean much"
    # Both versions were written and read back: the switch happened under this traffic.
    assert versions[2] > 0 and versions[3] > 0, versions
    print(f"{order}: {created} verifications, {approvals} approved, records by version "
          f"{versions}")

