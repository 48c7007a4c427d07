"""Races: counting and single use are atomic (docs/api.md "Then, atomically")."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from contract_tests.client import Api
from contract_tests.fresh import fresh_phone, wrong_code
from contract_tests.policy import Policy
from contract_tests.problems import assert_problem, assert_verification


def together(count: int, call: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """Run `count` requests at once: every thread waits at a barrier, then fires."""
    barrier = threading.Barrier(count)

    def fire() -> httpx.Response:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: fire(), range(count)))


def outcome(response: httpx.Response) -> str:
    if response.status_code == 200:
        return f"200 {response.json()['status']}"
    return f"{response.status_code} {response.json().get('code')}"


@pytest.mark.parametrize("by", ["verification_id", "to"])
def test_concurrent_wrong_checks_count_exactly_max_checks(
    api: Api, policy: Policy, report: Callable[[str], None], by: str
) -> None:
    created, code = api.start()
    locator = {by: created["id"] if by == "verification_id" else created["to"]}
    responses = together(50, lambda: api.check(wrong_code(code), **locator))
    counts = Counter(sorted(outcome(r) for r in responses))
    report(f"50 concurrent wrong checks by {by} on one verification: {dict(counts)}")
    counted = [r for r in responses if r.status_code == 200]
    assert len(counted) == policy.max_checks, dict(counts)
    for refused in (r for r in responses if r.status_code != 200):
        assert_problem(refused, "max_check_attempts_reached")
    attempts = sorted((r.json()["check_attempts"], r.json()["status"]) for r in counted)
    assert attempts == [(n, "max_attempts_reached" if n == policy.max_checks else "pending")
                        for n in range(1, policy.max_checks + 1)], attempts
    after = assert_verification(api.get(created["id"]), 200)
    assert (after["status"], after["check_attempts"]) == ("max_attempts_reached", policy.max_checks)


def test_concurrent_right_checks_approve_exactly_once(
    api: Api, report: Callable[[str], None]
) -> None:
    created, code = api.start()
    responses = together(20, lambda: api.check(code, verification_id=created["id"]))
    counts = Counter(sorted(outcome(r) for r in responses))
    report(f"20 concurrent right checks on one verification: {dict(counts)}")
    approved = [r for r in responses if r.status_code == 200]
    assert len(approved) == 1, dict(counts)
    assert (approved[0].json()["status"], approved[0].json()["valid"]) == ("approved", True)
    for other in responses:  # the code is used up: the others find nothing pending
        if other.status_code != 200:
            assert_problem(other, "not_found")
    assert assert_verification(api.get(created["id"]), 200)["status"] == "approved"


def test_concurrent_sends_to_one_destination_create_one_verification(
    api: Api, report: Callable[[str], None]
) -> None:
    to = fresh_phone()
    responses = together(10, lambda: api.send(to, "sms"))
    counts = Counter(f"{r.status_code} {r.json().get('code', r.json().get('status'))}"
                     for r in responses)
    report(f"10 concurrent sends to one new destination: {dict(counts)}")
    created = [r for r in responses if r.status_code == 201]
    assert len(created) == 1, dict(counts)
    for other in responses:
        if other.status_code != 201:
            assert_problem(other, "resend_cooldown")
    api.inbox.wait_new_code(to)
    api.inbox.assert_nothing_new(to)
