"""Attempt counting and single use are atomic under concurrent checks (real threads, real Redis)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis
from flask import Flask

PHONE = "+14155550100"


def run_concurrently(app: Flask, bodies: list[dict[str, str]]) -> Counter[tuple[int, str]]:
    def check(body: dict[str, str]) -> tuple[int, str]:
        response = app.test_client().post("/api/verification-checks", json=body)
        payload = response.get_json()
        if response.status_code == 200:
            return 200, payload["status"]
        return response.status_code, payload["code"]

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return Counter(pool.map(check, bodies))


def test_fifty_wrong_checks_count_exactly_five(
    app: Flask, start: Callable[..., Any], outbox_codes: Callable[[str], list[str]],
    redis_client: redis.Redis,
) -> None:
    vid = start().get_json()["id"]
    wrong = "".join(str((int(d) + 1) % 10) for d in outbox_codes(vid)[0])
    results = run_concurrently(app, [{"to": PHONE, "code": wrong}] * 50)
    assert results == Counter({(200, "pending"): 4, (200, "max_attempts_reached"): 1,
                               (429, "max_check_attempts_reached"): 45})
    assert redis_client.hget(f"vfy:ver:{vid}", "check_attempts") == "5"


def test_twenty_right_checks_approve_exactly_once(
    app: Flask, start: Callable[..., Any], outbox_codes: Callable[[str], list[str]],
    redis_client: redis.Redis, stream: Callable[[str], Any],
) -> None:
    vid = start().get_json()["id"]
    code = outbox_codes(vid)[0]
    results = run_concurrently(app, [{"verification_id": vid, "code": code}] * 20)
    assert results == Counter({(200, "approved"): 1, (404, "not_found"): 19})
    approvals = [e for _i, e in stream("vfy:events")
                 if e["type"] == "verification.approved"]
    assert len(approvals) == 1
