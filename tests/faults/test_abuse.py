"""Abuse: guessing codes by the thousand never approves a verification, and one client IP sending
to many destinations stops at the IP limit, through every target."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter

import aiohttp
import httpx
import pytest

from tests.faults.api import (
    AUTH,
    CHECK_PATH,
    SEND_PATH,
    Findings,
    ReportFn,
    as_client,
    created_id,
    new_client_ip,
    new_phone,
    problem_violation,
    send,
    wait_code,
)
from tests.faults.stack_control import IP_LIMIT, FaultStack

GUESSES = 10_000
CONCURRENCY = 32
MAX_CHECKS = 5  # VERIFY_MAX_CHECKS, the default the fault stack keeps
CHECKERS = ("monolith", "verify", "gateway")


async def guess(urls: list[str], body_of: list[dict[str, str]]) -> list[tuple[int, dict[str, str]]]:
    """Every body once, round-robin over `urls`, at most CONCURRENCY in flight. aiohttp as the
    client: on two shared cores httpx would spend more CPU than the servers under test."""
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(session: aiohttp.ClientSession, n: int) -> tuple[int, dict[str, str]]:
        async with gate, session.post(urls[n % len(urls)] + CHECK_PATH, json=body_of[n]) as answer:
            text = await answer.text()
            headers = {k.lower(): v for k, v in answer.headers.items()}
        try:
            body = json.loads(text)
        except ValueError:
            body = {"text": text[:200]}
        violation = answer.status >= 400 and problem_violation(answer.status, headers, body)
        if violation:
            body = {**body, "violation": violation}
        return answer.status, body

    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=15.0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                     headers=AUTH) as session:
        return list(await asyncio.gather(*(one(session, n) for n in range(len(body_of)))))


async def test_ten_thousand_guesses_never_approve(
        stack: FaultStack, http: httpx.Client, report: ReportFn) -> None:
    urls = [stack.url(name) for name in CHECKERS]
    to = new_phone()
    verification_id = created_id(send(http, stack.url("monolith"), to))
    code = wait_code(http, stack.url("devinbox"), to)
    rng = random.Random()
    wrong = [c for c in (f"{rng.randrange(10**6):06d}" for _ in range(GUESSES + 10)) if c != code]
    bodies = [{"verification_id": verification_id, "code": c} if n % 2 else {"to": to, "code": c}
              for n, c in enumerate(wrong[:GUESSES])]
    answers = await guess(urls, bodies)

    outcome = Counter(f"{status} {body.get('code') or body.get('status')}"
                      for status, body in answers)
    report("guesses_answers", dict(outcome))
    counted = [body for status, body in answers if status == 200]
    found = Findings()
    found.expect(not any(body.get("valid") for body in counted), "a random code approved it")
    found.expect(len(counted) == MAX_CHECKS, f"{len(counted)} guesses counted, not {MAX_CHECKS}")
    rest = [f"{status} {body}" for status, body in answers if status != 200 and (
        status != 429 or body.get("code") != "max_check_attempts_reached" or "violation" in body)]
    found.expect(not rest, "guesses beyond the limit not answered 429 max_check_attempts_reached",
                 rest)
    for url in urls:
        right = http.post(url + CHECK_PATH, json={"verification_id": verification_id,
                                                  "code": code})
        found.expect(right.status_code == 429 and right.json().get("code")
                     == "max_check_attempts_reached", f"right code afterwards at {url}: "
                     f"{right.status_code} {right.text[:200]}")
    record = http.get(f"{stack.url('gateway')}{SEND_PATH}/{verification_id}").json()
    report("guessed_verification_after", {k: record[k] for k in ("status", "check_attempts")})
    found.expect((record["status"], record["check_attempts"]) == ("max_attempts_reached",
                                                                  MAX_CHECKS), str(record))
    events = Counter(e["type"] for e in stack.events()
                     if e.get("verification_id") == verification_id)
    found.expect(events == Counter({"verification.max_attempts_reached": 1}), f"events {events}")
    found.assert_none()


@pytest.mark.parametrize("target", ["monolith", "send", "gateway"])
def test_one_client_ip_stops_at_the_ip_limit(
        stack: FaultStack, http: httpx.Client, report: ReportFn, target: str) -> None:
    url = stack.url(target) + SEND_PATH
    client = as_client(new_client_ip())
    answers = [http.post(url, json={"to": new_phone(), "channel": "sms"}, headers=client)
               for _ in range(IP_LIMIT + 4)]
    report(f"ip_limit_{target}", [a.status_code for a in answers])
    assert [a.status_code for a in answers] == [201] * IP_LIMIT + [429] * 4
    for refused in answers[IP_LIMIT:]:
        headers = {k.lower(): v for k, v in refused.headers.items()}
        assert refused.json()["code"] == "rate_limited", refused.text
        assert problem_violation(429, headers, refused.json()) is None, refused.text
    # Another client is not affected by that client's limit.
    other = http.post(url, json={"to": new_phone(), "channel": "sms"},
                      headers=as_client(new_client_ip()))
    assert other.status_code == 201, other.text
