"""Counting a shared limit's window from its start: the per-client send limit (docs/api.md
"Rate limits") and the circuit breaker ("SMS-pumping guards") count every send of a client, or
every SMS, so the window a test finds may hold other tests' or runs' sends already.

Each window is fixed: it starts at the first send counted after the last one ended and lasts its
setting (storage contract: `PEXPIRE` when the counter is 1).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from contract_tests.policy import Policy
from contract_tests.problems import assert_problem, assert_verification, describe, retry_after


@dataclass(frozen=True)
class Spent:
    """Sends until the first refusal: how many were created, and in how long."""

    created: int
    refusal: httpx.Response
    started: float  # time.monotonic() just before the first send
    first_answered: float  # time.monotonic() just after the first send's answer
    seconds: float  # from `started` to the refusal

    def fills_fresh_window(self, limit: int, window_seconds: int) -> bool:
        """Whether the window began with the first of these sends. Earlier sends in it make the
        refusal come before `limit` of ours; a window ending during ours makes it come after
        (the next needs `limit` of ours); in less than a window nothing else gives `limit`."""
        return self.created == limit and self.seconds < window_seconds


def spend(send: Callable[[], httpx.Response], limit: int, window_seconds: int, code: str,
          setting: str) -> Spent:
    started = first_answered = time.monotonic()
    # Within less than a window at most one window ends, so at most 2 * limit are created.
    for created in range(2 * limit + 1):
        response = send()
        if created == 0:
            first_answered = time.monotonic()
        if response.status_code != 201:
            assert_problem(response, code)
            return Spent(created, response, started, first_answered, time.monotonic() - started)
        assert_verification(response, 201)
    seconds = time.monotonic() - started
    assert seconds >= window_seconds, (
        f"{2 * limit + 1} sends within {seconds:.1f}s, less than one window of "
        f"{window_seconds}s, were all created: {setting} is not enforced")
    pytest.fail(f"{2 * limit + 1} sends took {seconds:.1f}s, longer than the {window_seconds}s "
                f"window: lengthen the window or lower the limit ({setting})")


def fill_fresh_window(send: Callable[[], httpx.Response], limit: int, window_seconds: int,
                      code: str, policy: Policy, setting: str) -> Spent:
    """Send until the limit refuses with `code`, in a window this test's first send began: exactly
    `limit` sends are created and the next is refused. A window found in use is waited out (its
    Retry-After) and the next one counted."""
    found = spend(send, limit, window_seconds, code, setting)
    if found.fills_fresh_window(limit, window_seconds):
        return found
    policy.require_wait(retry_after(found.refusal), setting)
    time.sleep(retry_after(found.refusal) + 0.1)
    fresh = spend(send, limit, window_seconds, code, setting)
    assert fresh.fills_fresh_window(limit, window_seconds), (
        f"after waiting out the window found in use (refused after {found.created} sends), the "
        f"next one refused after {fresh.created} sends in {fresh.seconds:.1f}s, not {limit} "
        f"within {window_seconds}s (does another client of this deployment send at the same "
        f"time?){describe(fresh.refusal)}")
    return fresh


def assert_rest_of_window(refusal: httpx.Response, window: Spent,
                          window_seconds: int) -> None:
    """Retry-After is what is left of the window (rounded up)."""
    elapsed = time.monotonic() - window.started
    assert window_seconds - elapsed - 1 <= retry_after(refusal) <= window_seconds, (
        f"Retry-After is the rest of the {window_seconds}s window, {elapsed:.1f}s after it "
        f"began{describe(refusal)}")


def wait_out(window: Spent, window_seconds: int, policy: Policy) -> None:
    """The tests after this one find the window closed again, when that is a short wait: a
    window that began with the test's first send ends at the latest `window_seconds` after its
    answer (sooner than Retry-After, rounded up, tells)."""
    rest = window.first_answered + window_seconds - time.monotonic()
    if rest <= policy.max_wait_seconds:
        time.sleep(max(0.0, rest) + 0.05)
