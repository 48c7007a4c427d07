"""Clients (docs/api.md "Ownership", storage contract v2): what one API client sees of another's
verifications (nothing), the budgets kept per client (Idempotency-Key, failed checks, sends),
the exhausted verification a new send cannot replace, and the send body's `end_user_ip` and
`reference`. Client A is --api-key, client B --api-key-b (the contract stage gives both)."""

from __future__ import annotations

import itertools
import math
import secrets
import time
from typing import Any

import httpx
import pytest

from contract_tests.client import Api
from contract_tests.fresh import fresh_email, fresh_ip, fresh_phone, wrong_code
from contract_tests.options import api_key
from contract_tests.policy import Policy
from contract_tests.problems import (
    assert_check,
    assert_json,
    assert_problem,
    assert_verification,
    describe,
    retry_after,
)
from contract_tests.windows import assert_rest_of_window, fill_fresh_window, wait_out


@pytest.fixture
def api_b(api: Api, pytestconfig: pytest.Config) -> Api:
    """Client B: the same HTTP client, inbox and fake IP as `api`, another client's key."""
    key = api_key(pytestconfig, "api-key-b")
    if not key:
        pytest.skip("no second client's key given (--api-key-b or CONTRACT_API_KEY_B)")
    return api.with_key(key)


def send_body(to: str, **members: Any) -> dict[str, Any]:
    return {"to": to, "channel": "email" if "@" in to else "sms", **members}


def exhaust(api: Api, verification: dict[str, Any], code: str, policy: Policy) -> None:
    """Spend every check attempt of `verification` on wrong codes."""
    for _ in range(policy.max_checks):
        assert assert_check(api.check(wrong_code(code), verification_id=verification["id"]))[
            "valid"] is False


# --- ownership ----------------------------------------------------------------------------


def test_another_client_cannot_read_cancel_or_check_by_id(api: Api, api_b: Api) -> None:
    created, code = api.start()
    assert_problem(api_b.get(created["id"]), "not_found")
    assert_problem(api_b.cancel(created["id"]), "not_found")
    assert_problem(api_b.check(code, verification_id=created["id"]), "not_found")
    untouched = assert_verification(api.get(created["id"]), 200)
    assert (untouched["status"], untouched["check_attempts"]) == ("pending", 0), (
        "another client's refused requests changed the verification")
    assert assert_check(api.check(code, verification_id=created["id"]))["status"] == "approved"


def test_a_check_by_destination_sees_only_the_callers_own(api: Api, api_b: Api) -> None:
    created, code = api.start()
    assert_problem(api_b.check(code, to=created["to"]), "not_found")
    result = assert_check(api.check(code, to=created["to"]))
    assert (result["verification_id"], result["status"]) == (created["id"], "approved")


@pytest.mark.parametrize("new_to", [fresh_phone, fresh_email], ids=["sms", "email"])
def test_two_clients_have_their_own_pending_verification_for_one_destination(
    api: Api, api_b: Api, new_to: Any
) -> None:
    to = new_to()
    mine, my_code = api.start(to)
    theirs = assert_verification(api_b.send(to), 201)  # not a resend of A's: a new one
    their_code = api.inbox.wait_new_code(to)
    assert theirs["id"] != mine["id"]
    assert (theirs["send_attempts"], theirs["check_attempts"]) == (1, 0)
    # B's check by `to` approves B's own; A's stays pending and takes A's code.
    result = assert_check(api_b.check(their_code, to=to))
    assert (result["verification_id"], result["status"]) == (theirs["id"], "approved")
    assert assert_verification(api.get(mine["id"]), 200)["status"] == "pending"
    result = assert_check(api.check(my_code, to=to))
    assert (result["verification_id"], result["status"]) == (mine["id"], "approved")


def test_idempotency_keys_are_scoped_per_client(api: Api, api_b: Api) -> None:
    idem = "contract-" + secrets.token_urlsafe(16)
    to = fresh_phone()
    first = api.send(to, "sms", idempotency_key=idem)
    mine = assert_verification(first, 201)
    api.inbox.wait_new_code(to)
    # The same key and body from B is B's own first request: a send, not A's replay.
    other = api_b.send(to, "sms", idempotency_key=idem)
    theirs = assert_verification(other, 201)
    assert "idempotent-replayed" not in other.headers, describe(other)
    assert theirs["id"] != mine["id"]
    api.inbox.wait_new_code(to)
    # The same key with another body from B: B's key was used for `to`, so 422 for B only...
    assert_problem(api_b.send(fresh_phone(), "sms", idempotency_key=idem),
                   "idempotency_key_reused")
    # ... and A still gets its own first response back.
    replay = api.send(to, "sms", idempotency_key=idem)
    assert replay.headers.get("idempotent-replayed") == "true", describe(replay)
    assert replay.content == first.content, describe(replay)


def test_a_key_used_by_another_client_is_no_reuse(api: Api, api_b: Api) -> None:
    idem = "contract-" + secrets.token_urlsafe(16)
    assert_verification(api.send(fresh_phone(), "sms", idempotency_key=idem), 201)
    assert_verification(api_b.send(fresh_phone(), "sms", idempotency_key=idem), 201)


# --- budgets that a new send cannot reset --------------------------------------------------


def test_a_new_send_while_exhausted_is_refused_until_expiry(
    api: Api, api_b: Api, policy: Policy
) -> None:
    created, code = api.start()
    exhaust(api, created, code, policy)
    refused = api.send(created["to"], "sms")
    assert_problem(refused, "max_check_attempts_reached")
    assert retry_after(refused) <= policy.code_ttl_seconds, describe(refused)
    api.inbox.assert_nothing_new(created["to"])
    after = assert_verification(api.get(created["id"]), 200)
    assert (after["status"], after["send_attempts"]) == ("max_attempts_reached", 1)
    # Another client's budget for that destination is its own.
    assert_verification(api_b.send(created["to"], "sms"), 201)


def test_failed_checks_per_day_limit_checks_and_sends_of_that_client(
    api: Api, api_b: Api, policy: Policy
) -> None:
    limit = policy.failed_checks_per_day
    # Each verification takes `max_checks` wrong codes; the exhausted one must expire before
    # the next send to the destination is allowed.
    rounds = math.ceil(limit / policy.max_checks)
    policy.require_count(limit + rounds + 4, "VERIFY_DEST_FAILED_CHECKS_PER_DAY")
    policy.require_wait((rounds - 1) * (policy.code_ttl_seconds + 1),
                        "VERIFY_DEST_FAILED_CHECKS_PER_DAY or VERIFY_CODE_TTL_SECONDS")
    if rounds > policy.dest_limit:
        pytest.skip(f"needs {rounds} sends to one destination (> VERIFY_DEST_LIMIT)")
    to, wrong = fresh_phone(), 0
    while wrong < limit:
        started = time.monotonic()
        created, code = api.start(to)
        for _ in range(min(policy.max_checks, limit - wrong)):
            assert assert_check(api.check(wrong_code(code), to=to))["valid"] is False
            wrong += 1
        if wrong < limit:
            _wait_until_expired(started, policy)
    # At the limit: the check (even with the right code, by id or by `to`) and the send refused,
    # counting nothing.
    for response in (api.check(code, verification_id=created["id"]), api.check(code, to=to),
                     api.send(to, "sms")):
        assert_problem(response, "rate_limited")
        assert retry_after(response) <= policy.failed_checks_window_seconds, describe(response)
    before = assert_verification(api.get(created["id"]), 200)
    assert before["check_attempts"] == wrong - (rounds - 1) * policy.max_checks
    # Kept per client: B can still send to and check that destination.
    theirs = assert_verification(api_b.send(to, "sms"), 201)
    their_code = api.inbox.wait_new_code(to)
    assert assert_check(api_b.check(their_code, verification_id=theirs["id"]))["valid"] is True


def _wait_until_expired(created_at: float, policy: Policy) -> None:
    """Sleep until a verification created at monotonic `created_at` has expired (an exhausted
    one keeps reporting `max_attempts_reached`, so its status cannot be polled)."""
    time.sleep(max(0.0, created_at + policy.code_ttl_seconds + 0.5 - time.monotonic()))


@pytest.mark.shared_limits
def test_per_client_send_limit(api: Api, api_b: Api, policy: Policy) -> None:
    """Spends client B's whole send budget for a window: every send as B counts, on any target
    of this deployment, so run it alone with a low VERIFY_CLIENT_SEND_LIMIT and a short window
    (./dev test: the "contract: shared limits" phase, `-m shared_limits`). Emails, so that no SMS
    guard refuses first."""
    limit, window = policy.client_send_limit, policy.client_window_seconds
    policy.require_count(3 * limit + 4, "VERIFY_CLIENT_SEND_LIMIT")
    per_ip = max(1, min(policy.ip_limit, policy.dest_limit) - 1)
    sent, senders = itertools.count(), []

    def send_as_b() -> httpx.Response:
        if next(sent) % per_ip == 0:  # a fresh IP before the IP limit
            senders.append(api_b.with_ip(fresh_ip()))
        return senders[-1].send(fresh_email(), "email")

    full = fill_fresh_window(send_as_b, limit, window, "rate_limited", policy,
                             "VERIFY_CLIENT_SEND_LIMIT and VERIFY_CLIENT_WINDOW_SECONDS")
    assert_rest_of_window(full.refusal, full, window)
    # Per client, whatever the IP and destination; another client is not limited.
    refused = api_b.with_ip(fresh_ip()).send(fresh_phone(), "sms")
    assert_problem(refused, "rate_limited")
    assert_rest_of_window(refused, full, window)
    assert_verification(api.with_ip(fresh_ip()).send(fresh_email()), 201)
    wait_out(full, window, policy)


# --- end_user_ip -------------------------------------------------------------------------


@pytest.mark.parametrize("spellings", [
    lambda ip: [ip, f"::ffff:{ip}"],
    lambda ip: [f"2001:db8:{int(ip.split('.')[2]):x}:{int(ip.split('.')[3]):x}::1",
                f"2001:db8:{int(ip.split('.')[2]):x}:{int(ip.split('.')[3]):x}:ffff::9"],
], ids=["ipv4", "ipv6-per-64"])
def test_end_user_ip_is_what_the_ip_limit_counts(api: Api, policy: Policy, spellings: Any) -> None:
    policy.require_count(policy.ip_limit + 3, "VERIFY_IP_LIMIT")
    user_ips = spellings(fresh_ip())
    for sent in range(policy.ip_limit):  # from ever-new connecting IPs
        body = send_body(fresh_phone(), end_user_ip=user_ips[sent % len(user_ips)])
        assert_verification(api.with_ip(fresh_ip()).send(body=body), 201)
    for user_ip in user_ips:
        body = send_body(fresh_phone(), end_user_ip=user_ip)
        assert_problem(api.with_ip(fresh_ip()).send(body=body), "rate_limited")
    # The connecting IP of those sends was not counted; another end user is not limited.
    assert_verification(api.send(fresh_phone()), 201)
    other = send_body(fresh_phone(), end_user_ip="198.51.100.7" if ":" in user_ips[0] else
                      "2001:db8:ffff:1::7")
    assert_verification(api.send(body=other), 201)


def test_end_user_ip_is_never_returned(api: Api) -> None:
    response = api.send(body=send_body(fresh_phone(), end_user_ip="203.0.113.9"))
    assert_verification(response, 201)
    assert "end_user_ip" not in response.text and "203.0.113.9" not in response.text


@pytest.mark.parametrize("value", [
    "198.51.100.7:80", "[2001:db8::1]", "[2001:db8::1]:443", "fe80::1%eth0", "unknown", "",
    "01.2.3.4", "1.2.3", " 198.51.100.7", "198.51.100.7\n", "198.51.100.7, 203.0.113.9",
    "2001:db8::/64", 42, ["198.51.100.7"],
])
def test_invalid_end_user_ip(api: Api, value: Any) -> None:
    response = api.send(body=send_body(fresh_phone(), end_user_ip=value))
    assert_problem(response, "invalid_parameter", "end_user_ip")


# --- reference ---------------------------------------------------------------------------


PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))


@pytest.mark.parametrize("reference", ["order-42", " ", PRINTABLE[:64], PRINTABLE[-64:]])
def test_reference_is_returned_as_given(api: Api, reference: str) -> None:
    to = fresh_phone()
    created = assert_json(api.send(body=send_body(to, reference=reference)), 201)
    assert list(created)[3:5] == ["locale", "reference"], f"members/order: {list(created)}"
    assert created["reference"] == reference
    assert assert_json(api.get(created["id"]), 200)["reference"] == reference


def test_reference_is_null_when_none_was_given(api: Api) -> None:
    created = assert_json(api.send(fresh_phone()), 201)
    assert "reference" in created and created["reference"] is None, created


def test_a_resend_keeps_the_stored_reference(api: Api, policy: Policy) -> None:
    policy.require_wait(2 * policy.resend_cooldown_seconds, "VERIFY_RESEND_COOLDOWN_SECONDS")
    to = fresh_phone()
    created = assert_json(api.send(body=send_body(to, reference="first")), 201)
    for resend in (send_body(to, reference="second"), send_body(to)):
        time.sleep(policy.resend_cooldown_seconds + 0.2)
        resent = assert_json(api.send(body=resend), 200)
        assert (resent["id"], resent["reference"]) == (created["id"], "first"), resent


@pytest.mark.parametrize("value", ["", "x" * 65, "caf\u00e9", "tab\there", "line\n", "\x7f",
                                   42, ["order-42"]])
def test_invalid_reference(api: Api, value: Any) -> None:
    response = api.send(body=send_body(fresh_phone(), reference=value))
    assert_problem(response, "invalid_parameter", "reference")


def test_end_user_ip_is_judged_before_reference(api: Api) -> None:
    body = send_body(fresh_phone(), reference="", end_user_ip="unknown")
    assert_problem(api.send(body=body), "invalid_parameter", "end_user_ip")


def test_null_reference_and_end_user_ip_mean_absent(api: Api) -> None:
    created = assert_json(api.send(body=send_body(fresh_phone(), reference=None,
                                                  end_user_ip=None)), 201)
    assert created["reference"] is None
