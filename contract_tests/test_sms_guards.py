"""The SMS-pumping guards (docs/api.md "SMS-pumping guards"): the conversion guard, prefix
velocity and the global circuit breaker, as a client sees them.

The guards count across all clients, so each test sends to a number prefix of its own
(fresh_prefix_numbers: never a number fresh_phone hands out), each number a few times at most (the
destination limit is never what refuses), each send from a fresh client IP (nor is the IP limit).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from contract_tests.client import Api
from contract_tests.fresh import fresh_email, fresh_ip, fresh_phone, fresh_prefix_numbers
from contract_tests.options import api_key
from contract_tests.policy import Policy
from contract_tests.problems import (
    assert_check,
    assert_problem,
    assert_verification,
    describe,
    retry_after,
)
from contract_tests.windows import assert_rest_of_window, fill_fresh_window, wait_out

PREFIX_GUARDS = ("prefix_blocked", "prefix_rate_limited")
# How many prefixes a test tries before it gives up: another run with this namespace on the same
# Redis (minutes ago, or a manual run now) may have left one blocked, full or partly counted.
PREFIX_DRAWS = 8


class RangeInUse(Exception):
    """A guard refused an SMS to the range earlier than this test's own sends explain."""


@dataclass
class Created:
    id: str
    to: str
    sent_at: float  # time.monotonic() of its last send
    approved: bool = False


@dataclass
class NumberRange:
    """One test's number prefix and what was sent to it: the counts the guards keep of it."""

    api: Api
    policy: Policy
    prefix: str
    numbers: Iterator[str]
    started: float = field(default_factory=time.monotonic)  # before the first send
    sends: int = 0  # SMS that happened, new and resends: what prefix velocity counts
    created: list[Created] = field(default_factory=list)  # what the conversion guard counts
    approvals: dict[str, int] = field(default_factory=lambda: {"verification_id": 0, "to": 0})
    blocked: bool = False  # the conversion guard answered prefix_blocked

    @property
    def approved(self) -> int:
        return sum(self.approvals.values())

    def send(self, to: str, idempotency_key: str | None = None) -> httpx.Response:
        """One SMS to `to` from a fresh client IP, counted as the guards count it. A guard's
        refusal that the counts do not explain raises RangeInUse."""
        response = self.api.with_ip(fresh_ip()).send(to, "sms", idempotency_key=idempotency_key)
        code = response.json().get("code") if response.status_code == 429 else None
        if code in PREFIX_GUARDS:
            if not self.refusal_due():
                raise RangeInUse(f"{self.sends} SMS, {len(self.created)} created and "
                                 f"{self.approved} approved{describe(response)}")
            self.blocked = self.blocked or code == "prefix_blocked"
        elif response.status_code == 201 and "idempotent-replayed" not in response.headers:
            self.sends += 1
            self.created.append(Created(response.json()["id"], to, time.monotonic()))
        elif response.status_code == 200:
            self.sends += 1
            [resent] = [c for c in self.created if c.id == response.json()["id"]]
            resent.sent_at = time.monotonic()
        return response

    def refusal_due(self) -> bool:
        return (self.blocked or self.sends >= self.policy.sms_prefix_limit
                or self.policy.conversion_guard_blocks(len(self.created), self.approved))

    def send_new(self, idempotency_key: str | None = None) -> httpx.Response:
        return self.send(next(self.numbers), idempotency_key)

    def create(self) -> Created:
        """A new verification to the next number of the range: 201 expected."""
        assert_verification(self.send_new(), 201)
        return self.created[-1]

    def resend(self, created: Created) -> httpx.Response:
        """`created` again, once its cooldown is over."""
        wait = created.sent_at + self.policy.resend_cooldown_seconds + 0.3 - time.monotonic()
        time.sleep(max(0.0, wait))
        return self.send(created.to)

    def approve(self, created: Created, by: str) -> None:
        code = self.api.inbox.wait_new_code(created.to)
        if by == "verification_id":
            response = self.api.check(code, verification_id=created.id)
        else:
            response = self.api.check(code, to=created.to)
        assert assert_check(response)["status"] == "approved", describe(response)
        created.approved = True
        self.approvals[by] += 1

    def keep_open(self) -> None:
        """Approve just enough of the newest verifications (their codes are fresh) that the
        conversion guard lets the next send pass; by id and by `to` in turn."""
        while self.policy.conversion_guard_blocks(len(self.created), self.approved):
            newest = next(c for c in reversed(self.created) if not c.approved)
            by = "to" if self.approvals["verification_id"] > self.approvals["to"] else (
                "verification_id")
            self.approve(newest, by)


def on_fresh_range(api: Api, policy: Policy, scenario: Callable[[NumberRange], None]) -> None:
    """Play `scenario` on a reserved prefix, its first SMS sent (a new verification). When a
    guard refuses an SMS the scenario's own sends do not explain, another run on this Redis used
    the prefix too (it shares this run's namespace): the scenario is played on another one."""
    refusals = []
    for _ in range(PREFIX_DRAWS):
        prefix, numbers = fresh_prefix_numbers()
        numbers_range = NumberRange(api, policy, prefix, numbers)
        try:
            numbers_range.create()
            scenario(numbers_range)
            return
        except RangeInUse as refusal:
            refusals.append(f"{prefix}: {refusal}")
    pytest.fail(f"{PREFIX_DRAWS} reserved number prefixes in a row refused SMS earlier than "
                f"their counts explain:\n" + "\n".join(refusals))


def require_guards(policy: Policy) -> None:
    """The conversion guard must not refuse before prefix velocity can be reached, nor the
    conversion guard judge so early that no approval can keep it open (a test approves codes)."""
    if policy.prefix_guard_min_sms < 2:
        pytest.skip("needs VERIFY_PREFIX_GUARD_MIN_SMS of at least 2")
    if policy.sms_prefix_limit <= policy.prefix_guard_min_sms:
        pytest.skip("needs VERIFY_SMS_PREFIX_LIMIT above VERIFY_PREFIX_GUARD_MIN_SMS (the test "
                    "shows a prefix sending past it)")
    policy.require_count(2 * policy.sms_prefix_limit + 10, "VERIFY_SMS_PREFIX_LIMIT")
    policy.require_wait(2 * (policy.resend_cooldown_seconds + 0.3),
                        "VERIFY_RESEND_COOLDOWN_SECONDS")


# --- prefix velocity -------------------------------------------------------------------------


def test_prefix_velocity_limits_sms_to_a_number_range(api: Api, policy: Policy) -> None:
    require_guards(policy)
    on_fresh_range(api, policy, prefix_velocity)
    # Numbers of other prefixes are not limited by that one, from the same client IP as well.
    assert_verification(api.send(fresh_phone(), "sms"), 201)
    assert_verification(api.send(fresh_phone(), "sms"), 201)


def prefix_velocity(numbers: NumberRange) -> None:
    policy, first = numbers.policy, numbers.created[0]
    # A send that does not happen counts nothing: a resend within the cooldown, and a replay.
    early = numbers.send(first.to)
    if early.status_code != 200:  # (200 on a slow machine: the cooldown was over; it counted)
        assert_problem(early, "resend_cooldown")
    idempotency_key = "contract-" + secrets.token_urlsafe(12)
    numbers.keep_open()
    stored = numbers.send_new(idempotency_key)
    assert_verification(stored, 201)
    stored_to = numbers.created[-1].to
    replay = numbers.send(stored_to, idempotency_key)
    assert replay.headers.get("idempotent-replayed") == "true", describe(replay)
    # A resend counts like a new verification.
    assert_verification(numbers.resend(first), 200)
    while numbers.sends < policy.sms_prefix_limit:
        numbers.keep_open()
        numbers.create()
    numbers.keep_open()  # so that what refuses is prefix velocity, not the conversion guard
    refused = numbers.send_new()
    assert_problem(refused, "prefix_rate_limited")
    window_left = policy.sms_prefix_window_seconds - (time.monotonic() - numbers.started)
    assert window_left - 1 <= retry_after(refused) <= policy.sms_prefix_window_seconds, (
        f"Retry-After is the rest of the prefix's window{describe(refused)}")
    # A resend to the range is refused as well (a new verification too, had the first expired).
    assert_problem(numbers.resend(first), "prefix_rate_limited")
    # A replay is no send: the stored answer still comes back.
    replay = numbers.send(stored_to, idempotency_key)
    assert (replay.status_code, replay.content) == (201, stored.content), describe(replay)


# --- conversion guard ------------------------------------------------------------------------


def test_conversion_guard_blocks_a_number_range_whose_codes_are_not_entered(
    api: Api, policy: Policy
) -> None:
    require_guards(policy)
    if policy.prefix_guard_min_approved_percent == 0:
        pytest.skip("VERIFY_PREFIX_GUARD_MIN_APPROVED_PERCENT is 0: no prefix is ever blocked")
    on_fresh_range(api, policy, unconverted)
    # Other prefixes send, from the same client IP as well.
    assert_verification(api.send(fresh_phone(), "sms"), 201)
    assert_verification(api.with_ip(fresh_ip()).send(fresh_phone(), "sms"), 201)


def unconverted(numbers: NumberRange) -> None:
    policy = numbers.policy
    # Only new verifications count toward VERIFY_PREFIX_GUARD_MIN_SMS: a resend does not.
    assert_verification(numbers.resend(numbers.created[0]), 200)
    while len(numbers.created) < policy.prefix_guard_min_sms:
        numbers.create()  # none approved
    refused = numbers.send_new()
    assert_problem(refused, "prefix_blocked")
    block = policy.prefix_guard_block_seconds
    assert block - 2 <= retry_after(refused) <= block, (
        f"Retry-After is VERIFY_PREFIX_GUARD_BLOCK_SECONDS{describe(refused)}")
    # Blocked: another new number of the range, and a resend to one of it.
    again = numbers.send_new()
    assert_problem(again, "prefix_blocked")
    assert retry_after(again) <= block, describe(again)
    newest = numbers.created[-1]
    assert_problem(numbers.resend(newest), "prefix_blocked")
    # Checks are not guarded, and an approval now does not lift the block (it ends in time).
    numbers.approve(newest, "verification_id")
    assert_problem(numbers.send_new(), "prefix_blocked")


def test_a_number_range_whose_codes_are_entered_keeps_sending(api: Api, policy: Policy) -> None:
    """Past VERIFY_PREFIX_GUARD_MIN_SMS, with just the percentage approved (by id and by `to`,
    on whichever side serves the checks), every send passes."""
    require_guards(policy)
    last_judged = policy.sms_prefix_limit - 1  # verifications the range's last send is judged on
    needed = -(-last_judged * policy.prefix_guard_min_approved_percent // 100)
    if needed < 2:
        pytest.skip("needs 2 approvals or more to be due within VERIFY_SMS_PREFIX_LIMIT sends: "
                    "raise VERIFY_PREFIX_GUARD_MIN_APPROVED_PERCENT or VERIFY_SMS_PREFIX_LIMIT")

    def converted(numbers: NumberRange) -> None:
        while numbers.sends < policy.sms_prefix_limit:
            numbers.keep_open()
            numbers.create()
        assert len(numbers.created) > policy.prefix_guard_min_sms
        assert numbers.approvals["verification_id"] >= 1 and numbers.approvals["to"] >= 1, (
            numbers.approvals)
        # Each approval was needed: one fewer, and the last send would have been refused.
        assert policy.conversion_guard_blocks(last_judged, numbers.approved - 1)

    on_fresh_range(api, policy, converted)


def test_emails_pass_no_guard(api: Api, policy: Policy) -> None:
    """More emails than either prefix guard lets SMS through, none approved, to addresses equal
    but for their last 4 characters (what an SMS number's prefix leaves out): all are sent."""
    count = max(policy.sms_prefix_limit, policy.prefix_guard_min_sms) + 1
    policy.require_count(count, "VERIFY_SMS_PREFIX_LIMIT and VERIFY_PREFIX_GUARD_MIN_SMS")
    local = f"guard{secrets.token_hex(6)}"
    for n in range(count):
        response = api.with_ip(fresh_ip()).send(f"{local}@example.t{n:03d}", "email")
        assert_verification(response, 201)


# --- circuit breaker -------------------------------------------------------------------------


@pytest.mark.shared_limits
def test_circuit_breaker_caps_sms_in_all(
    api: Api, policy: Policy, pytestconfig: pytest.Config
) -> None:
    """VERIFY_SMS_GLOBAL_LIMIT counts every SMS of every client and target of this deployment, so
    run it alone with a low limit and a short window (./dev test: the "contract: shared limits"
    phase, `-m shared_limits`), and a client send limit above twice the global one."""
    limit, window = policy.sms_global_limit, policy.sms_global_window_seconds
    policy.require_count(3 * limit + 6, "VERIFY_SMS_GLOBAL_LIMIT")
    full = fill_fresh_window(lambda: api.with_ip(fresh_ip()).send(fresh_phone(), "sms"), limit,
                             window, "sms_capacity_exceeded", policy,
                             "VERIFY_SMS_GLOBAL_LIMIT and VERIFY_SMS_GLOBAL_WINDOW_SECONDS")
    assert_rest_of_window(full.refusal, full, window)
    # Every SMS is refused until the window ends, whatever its prefix, client IP or client.
    other_key = api_key(pytestconfig, "api-key-b")
    for sender in (api, *([api.with_key(other_key)] if other_key else [])):
        refused = sender.with_ip(fresh_ip()).send(fresh_phone(), "sms")
        assert_problem(refused, "sms_capacity_exceeded")
        assert_rest_of_window(refused, full, window)
    # Emails pass no guard.
    assert_verification(api.with_ip(fresh_ip()).send(fresh_email(), "email"), 201)
    wait_out(full, window, policy)
