"""The most wrong codes one attacker gets against one destination in a (simulated) day, per side.

The attacker holds ONE API key (the suite's) and aims at ONE destination. It does whatever the
API lets it do to get more guesses: sends, guesses wrong codes until refused (by id and by `to`
in turn, then the other form once more), resends, cancels and sends again, sends again after
exhausting a verification, and waits out each Retry-After (never past the end of its run). A
guess counts when the server counted it: `200` with `valid` false.

What "a day" is here. The failed-checks counter is a fixed window that starts at the first wrong
code (docs/api.md, "Failed checks per day"), so a 24 h span straddling two windows can hold up to
twice VERIFY_DEST_FAILED_CHECKS_PER_DAY. The day measured is the first window itself: one window
length from the moment the first counted guess was sent (no later than the server's own start of
the window), counting the guesses answered before it ended (so surely inside that window). In it
the attacker must get exactly the budget: no more (the rule), and no fewer (so the attacker is
strong enough that the measure could see more). The run then goes on a few simulated hours, to
see the next window grant guesses again (the counter, not anything else, was what stopped the
attacker), and reports the whole run's count, which stays within two budgets.

Time is scaled on a stack of its own (GUESS_BUDGET_PROFILE: the 24 h window is 24 s).
"""

from __future__ import annotations

import itertools
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from contract_tests.policy import Policy
from devtools.components import free_ports
from tests.faults.api import (
    CHECK_PATH,
    SEND_PATH,
    Findings,
    ReportFn,
    as_client,
    new_client_ip,
    new_phone,
    problem_violation,
)
from tests.faults.stack_control import GUESS_BUDGET_PROFILE, FaultStack, fault_components

POLICY = Policy.from_env(GUESS_BUDGET_PROFILE)
BUDGET = POLICY.failed_checks_per_day
DAY_SECONDS = float(POLICY.failed_checks_window_seconds)
# Simulated hours after the day: enough for a Retry-After (rounded up to whole seconds) to end.
AFTER_DAY_SECONDS = 4.0
# With no counted guess by then, the attacker gives up (and the test fails).
FIRST_GUESS_WITHIN_SECONDS = 10.0
# The refusals an attacker may meet; anything else is a finding.
REFUSALS = {(404, "not_found"), (409, "not_pending"), (429, "rate_limited"),
            (429, "max_check_attempts_reached")}


@dataclass(frozen=True)
class Side:
    """Where an attacker's requests go: verifications (send, read, cancel) and checks; through
    the gateway, the X-Backend pins taken in turn, so the two sides share one counter."""

    verifications: str
    checks: str
    backends: tuple[str, ...] = ()


SIDES = {
    "monolith": Side("monolith", "monolith"),
    "services": Side("send", "verify"),
    "gateway": Side("gateway", "gateway", ("monolith", "services")),
}


@dataclass(frozen=True)
class Answer:
    action: str  # send, check_by_id, check_by_to, cancel, read
    sent: float  # monotonic seconds
    received: float
    status: int
    body: dict[str, Any]
    retry_after: float | None
    violation: str | None

    @property
    def counted_guess(self) -> bool:
        return (self.action.startswith("check") and self.status == 200
                and self.body.get("valid") is False)

    @property
    def code(self) -> str:
        return str(self.body.get("code") or self.body.get("status") or "")


class Attacker:
    """One key, one destination, one client IP; every move the API offers, in turn."""

    def __init__(self, http: httpx.Client, verifications_url: str, checks_url: str,
                 backends: tuple[str, ...], to: str) -> None:
        self.http = http
        self.verifications_url = verifications_url
        self.checks_url = checks_url
        self.backends = backends
        self.to = to
        self.client = as_client(new_client_ip())
        self.rng = random.Random()
        self.requests = itertools.count()
        self.answers: list[Answer] = []
        self.created: list[str] = []  # every verification id it got a 201 for
        self.started = time.monotonic()
        self.first_guess: float | None = None  # when the first counted guess was sent

    @property
    def end(self) -> float:
        if self.first_guess is None:
            return self.started + FIRST_GUESS_WITHIN_SECONDS
        return self.first_guess + DAY_SECONDS + AFTER_DAY_SECONDS

    def over(self) -> bool:
        return time.monotonic() >= self.end

    def run(self) -> None:
        plans: Iterator[Callable[[str], None]] = itertools.cycle(
            (self.exhaust, self.resend_then_exhaust, self.cancel_and_send_again))
        while not self.over():
            sent = self.send()
            if sent.status in (200, 201):
                next(plans)(str(sent.body["id"]))
            else:  # refused: the checks must be refused too (or counted), then wait
                self.check(self.created[-1] if self.created else None, by_to=False)
                self.check(None, by_to=True)
                self.wait(sent.retry_after)

    def exhaust(self, verification_id: str) -> None:
        self.guess(verification_id)

    def resend_then_exhaust(self, verification_id: str) -> None:
        if self.guess(verification_id, most=2):
            resent = self.send()
            if resent.status in (200, 201):
                self.guess(str(resent.body["id"]))

    def cancel_and_send_again(self, verification_id: str) -> None:
        """Guess all but the last attempt, cancel: the next send starts a fresh verification,
        so only the failed-checks counter can stop this."""
        if self.guess(verification_id, most=POLICY.max_checks - 1):
            self.request("cancel", "POST", f"{self.verifications_url}{SEND_PATH}/"
                                           f"{verification_id}/cancel")

    def guess(self, verification_id: str, most: int | None = None) -> bool:
        """Wrong codes, by id and by `to` in turn, until `most` were counted (True) or one was
        not (False, after trying the other form once more)."""
        counted = 0
        by_to = False
        while not self.over() and (most is None or counted < most):
            if not self.check(verification_id, by_to).counted_guess:
                self.check(verification_id, not by_to)
                return False
            counted += 1
            by_to = not by_to
        return not self.over()

    def send(self) -> Answer:
        answer = self.request("send", "POST", self.verifications_url + SEND_PATH,
                              {"to": self.to, "channel": "sms"})
        if answer.status == 201:
            self.created.append(str(answer.body["id"]))
        return answer

    def check(self, verification_id: str | None, by_to: bool) -> Answer:
        code = f"{self.rng.randrange(10 ** POLICY.code_length):0{POLICY.code_length}d}"
        if by_to or verification_id is None:
            return self.request("check_by_to", "POST", self.checks_url + CHECK_PATH,
                                {"to": self.to, "code": code})
        return self.request("check_by_id", "POST", self.checks_url + CHECK_PATH,
                            {"verification_id": verification_id, "code": code})

    def wait(self, retry_after: float | None) -> None:
        time.sleep(max(0.0, min(retry_after or 1.0, self.end - time.monotonic())))

    def request(self, action: str, method: str, url: str,
                body: dict[str, str] | None = None) -> Answer:
        headers = dict(self.client)
        n = next(self.requests)
        if self.backends:
            headers["X-Backend"] = self.backends[n % len(self.backends)]
        sent = time.monotonic()
        response = self.http.request(method, url, json=body, headers=headers)
        received = time.monotonic()
        try:
            parsed = response.json()
        except ValueError:
            parsed = {"text": response.text[:200]}
        if not isinstance(parsed, dict):
            parsed = {"json": parsed}
        retry_after = response.headers.get("retry-after")
        answer = Answer(
            action, sent, received, response.status_code, parsed,
            float(retry_after) if retry_after and retry_after.isdigit() else None,
            problem_violation(response.status_code, response.headers, parsed)
            if response.status_code >= 400 else None)
        if answer.counted_guess and self.first_guess is None:
            self.first_guess = sent
        self.answers.append(answer)
        return answer


@pytest.fixture(scope="module")
def short_day_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    workdir = tmp_path_factory.mktemp("guess-budget")
    parts, table = fault_components(free_ports(), workdir, GUESS_BUDGET_PROFILE)
    print(f"\n[faults] starting the short-day stack; logs in {workdir / 'logs'}", flush=True)
    stack = FaultStack(parts, table, workdir)
    with stack:
        yield stack


@pytest.mark.parametrize("side", list(SIDES))
def test_one_key_gets_at_most_the_budget_of_guesses_a_day(
        short_day_stack: FaultStack, http: httpx.Client, report: ReportFn, side: str) -> None:
    where = SIDES[side]
    attacker = Attacker(http, short_day_stack.url(where.verifications),
                        short_day_stack.url(where.checks), where.backends, new_phone())
    attacker.run()
    answers = attacker.answers
    found = Findings()
    assert attacker.first_guess is not None, (
        f"no guess counted within {FIRST_GUESS_WITHIN_SECONDS:.0f}s: "
        f"{Counter(f'{a.action} {a.status} {a.code}' for a in answers)}")

    day_end = attacker.first_guess + DAY_SECONDS
    counted = [a for a in answers if a.counted_guess]
    in_day = [a for a in counted if a.received < day_end]
    after_day = [a for a in counted if a.sent >= day_end]
    approved = [a for a in answers if a.action.startswith("check") and a.status == 200
                and a.body.get("valid") is True]  # a random code that was right (p ~ 1e-6 each)
    outcome = Counter(f"{a.action} {a.status} {a.code}" for a in answers)
    report(f"guess_budget_{side}", {
        "budget_per_day": BUDGET, "day_s": DAY_SECONDS,
        "counted_in_day": len(in_day), "counted_after_day": len(after_day),
        "counted_at_day_end": len(counted) - len(in_day) - len(after_day),
        "counted_in_run": len(counted), "approved": len(approved),
        "run_s": round(answers[-1].received - attacker.started, 1),
        "requests": len(answers), "verifications_created": len(attacker.created)})
    report(f"guess_budget_{side}_answers", dict(outcome))

    found.expect(len(in_day) <= BUDGET,
                 f"{len(in_day)} wrong guesses counted in one day, over the budget of {BUDGET}")
    found.expect(len(in_day) >= BUDGET - len(approved),
                 f"the attacker got only {len(in_day)} guesses counted in the day, not the "
                 f"{BUDGET} allowed: it is too weak for the measure to mean anything")
    found.expect(0 < len(after_day) <= BUDGET and len(counted) <= 2 * BUDGET,
                 f"after the day, {len(after_day)} guesses counted (the next window grants 1 to "
                 f"{BUDGET}); {len(counted)} in the whole run (at most {2 * BUDGET})")
    if len(in_day) >= BUDGET:
        # From the budget-th guess to the day's end, sends and checks for that destination are
        # refused: 429 rate_limited, or 404 for a check with nothing to check (an expired
        # verification, none pending for `to`), which the API judges first.
        full_since = in_day[BUDGET - 1].received
        while_full = [a for a in answers if full_since < a.sent and a.received < day_end
                      and a.action in ("send", "check_by_id", "check_by_to")]
        let_through = [f"{a.action} {a.status} {a.code}" for a in while_full
                       if (a.status, a.code) != (429, "rate_limited")
                       and not (a.action != "send" and (a.status, a.code) == (404, "not_found"))]
        found.expect(bool(while_full) and not let_through,
                     "while the day's budget was used up, a send or check was not refused",
                     let_through or ["no request then"])
    odd = [f"{a.action} {a.status} {a.body}"[:300] for a in answers
           if a.violation or (a.status >= 400 and (a.status, a.code) not in REFUSALS)]
    found.expect(not odd, "refusals that are not documented problems of the kinds expected", odd)

    # The server's own records agree: every check it counted is on one of these verifications.
    attempts = 0
    for verification_id in attacker.created:
        record = attacker.request("read", "GET", f"{attacker.verifications_url}{SEND_PATH}/"
                                                  f"{verification_id}")
        found.expect(record.status == 200, f"read {verification_id}: {record.status}")
        attempts += int(record.body.get("check_attempts", 0))
    found.expect(attempts == len(counted) + len(approved),
                 f"the verifications record {attempts} check attempts, the attacker saw "
                 f"{len(counted) + len(approved)} counted")
    found.assert_none()
