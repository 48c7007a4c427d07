"""Concurrent checks against one verification: the Lua scripts count and approve atomically."""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.integration.services.support import Api, wrong_code


async def test_fifty_concurrent_wrong_checks_count_exactly_five(api: Api) -> None:
    created = (await api.start()).json()
    bad = wrong_code(api.code_for(created["id"]))
    responses = await asyncio.gather(
        *(api.check(bad, verification_id=created["id"]) for _ in range(50))
    )
    outcomes = Counter(
        (r.status_code, r.json()["status"] if r.status_code == 200 else r.json()["code"])
        for r in responses
    )
    assert outcomes == {(200, "pending"): 4, (200, "max_attempts_reached"): 1,
                        (429, "max_check_attempts_reached"): 45}
    counted = sorted(r.json()["check_attempts"] for r in responses if r.status_code == 200)
    assert counted == [1, 2, 3, 4, 5]
    read = (await api.send.get(f"/api/verifications/{created['id']}")).json()
    assert read["check_attempts"] == 5


async def test_twenty_concurrent_right_checks_approve_exactly_once(api: Api) -> None:
    created = (await api.start()).json()
    code = api.code_for(created["id"])
    responses = await asyncio.gather(
        *(api.check(code, verification_id=created["id"]) for _ in range(20))
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 404: 19}
    (approved,) = [r.json() for r in responses if r.status_code == 200]
    assert approved["status"] == "approved" and approved["valid"] is True


async def test_concurrent_sends_create_one_verification(api: Api) -> None:
    responses = await asyncio.gather(*(api.start() for _ in range(10)))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 429: 9}
    assert {r.json()["code"] for r in responses if r.status_code == 429} == {"resend_cooldown"}
