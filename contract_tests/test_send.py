"""POST /api/verifications: create, resend, cooldown, max sends, rate limits (docs/api.md)."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from contract_tests.client import Api
from contract_tests.fresh import fresh_email, fresh_ip, fresh_phone, wrong_code
from contract_tests.policy import Policy
from contract_tests.problems import assert_problem, assert_verification, describe, retry_after


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_create_answers_201_with_location_and_the_verification(api: Api, policy: Policy) -> None:
    to = fresh_phone()
    response = api.send(to, "sms")
    body = assert_verification(response, 201)
    location = response.headers.get("location")
    assert location == f"/api/verifications/{body['id']}", describe(response)
    assert body["to"] == to
    assert body["channel"] == "sms"
    assert body["locale"] is None
    assert body["status"] == "pending"
    assert body["send_attempts"] == 1
    assert body["check_attempts"] == 0
    lifetime = parse_time(body["expires_at"]) - parse_time(body["created_at"])
    assert lifetime.total_seconds() == policy.code_ttl_seconds, describe(response)
    assert abs(parse_time(body["created_at"]).timestamp() - time.time()) < 120
    assert "idempotent-replayed" not in response.headers
    code = api.inbox.wait_new_code(to)
    assert len(code) == policy.code_length


def test_create_by_email_stores_the_address_lower_cased_and_delivers_by_email(api: Api) -> None:
    to = fresh_email()
    body = assert_verification(api.send(to.upper(), "email"), 201)
    assert body["to"] == to
    assert body["channel"] == "email"
    api.inbox.wait_new_code(to)
    message = api.inbox.messages(to)[0]
    assert message["channel"] == "email"
    assert message["subject"] == "Your verification code"


def test_locale_is_kept(api: Api) -> None:
    body = assert_verification(api.send(fresh_phone(), "sms", locale="pt-BR"), 201)
    assert body["locale"] == "pt-BR"
    body = assert_verification(api.send(fresh_phone(), "sms", locale=None), 201)
    assert body["locale"] is None
    body = assert_verification(api.send(fresh_email().upper(), "email", locale="pt-BR"), 201)
    assert (body["channel"], body["locale"]) == ("email", "pt-BR")
    assert body["to"] == body["to"].lower()


def test_charset_parameter_on_content_type_is_accepted(api: Api) -> None:
    content = f'{{"to": "{fresh_phone()}", "channel": "sms"}}'
    headers = {"Content-Type": "application/json; charset=utf-8"}
    response = api.send(content=content, headers=headers)
    assert_verification(response, 201)


def test_immediate_resend_is_refused_with_the_cooldown(api: Api, policy: Policy) -> None:
    to = fresh_phone()
    started = time.monotonic()
    assert_verification(api.send(to, "sms"), 201)
    response = api.send(to, "sms")
    elapsed = time.monotonic() - started
    assert_problem(response, "resend_cooldown")
    # Seconds until the cooldown ends, rounded up.
    assert policy.resend_cooldown_seconds - elapsed - 1 <= retry_after(response), describe(response)
    assert retry_after(response) <= policy.resend_cooldown_seconds, describe(response)
    api.inbox.wait_new_code(to)
    api.inbox.assert_nothing_new(to, settle=0.5)


def test_resend_after_the_cooldown_sends_the_same_code_again(api: Api, policy: Policy) -> None:
    policy.require_wait(policy.resend_cooldown_seconds + 0.3, "VERIFY_RESEND_COOLDOWN_SECONDS")
    first, code = api.start()
    time.sleep(policy.resend_cooldown_seconds + 0.3)
    response = api.send(first["to"], "sms")
    again = assert_verification(response, 200)
    assert "location" not in response.headers, describe(response)  # only a 201 has one
    assert again["id"] == first["id"]
    assert again["send_attempts"] == 2
    assert again["created_at"] == first["created_at"]
    assert again["expires_at"] == first["expires_at"]
    assert api.inbox.wait_new_code(first["to"]) == code


def test_resend_keeps_the_check_attempts(api: Api, policy: Policy) -> None:
    policy.require_wait(policy.resend_cooldown_seconds + 0.3, "VERIFY_RESEND_COOLDOWN_SECONDS")
    first, code = api.start()
    assert api.check(wrong_code(code), verification_id=first["id"]).json()["check_attempts"] == 1
    time.sleep(policy.resend_cooldown_seconds + 0.3)
    again = assert_verification(api.send(first["to"], "sms"), 200)
    assert again["check_attempts"] == 1


def test_sends_stop_at_max_sends(api: Api, policy: Policy) -> None:
    wait = (policy.max_sends - 1) * (policy.resend_cooldown_seconds + 0.3)
    policy.require_wait(wait, "VERIFY_RESEND_COOLDOWN_SECONDS")
    if wait + 1.5 >= policy.code_ttl_seconds:
        pytest.skip("the sends do not fit in VERIFY_CODE_TTL_SECONDS; lower "
                    "VERIFY_RESEND_COOLDOWN_SECONDS or raise VERIFY_CODE_TTL_SECONDS")
    first, code = api.start()
    for attempt in range(2, policy.max_sends + 1):
        time.sleep(policy.resend_cooldown_seconds + 0.3)
        assert assert_verification(api.send(first["to"], "sms"), 200)["send_attempts"] == attempt
        assert api.inbox.wait_new_code(first["to"]) == code  # every send is delivered
    # At once: the send limit is checked before the cooldown, so this is not resend_cooldown.
    refused = api.send(first["to"], "sms")
    assert_problem(refused, "max_send_attempts_reached")
    api.inbox.assert_nothing_new(first["to"], settle=0.5)
    remaining = (parse_time(first["expires_at"]).timestamp() - time.time())
    assert abs(retry_after(refused) - remaining) <= 3, describe(refused)
    assert assert_verification(api.get(first["id"]), 200)["send_attempts"] == policy.max_sends


def test_destination_limit_counts_sends_across_cancel_and_create(api: Api, policy: Policy) -> None:
    policy.require_count(policy.dest_limit * 3, "VERIFY_DEST_LIMIT")
    to = fresh_phone()
    started = time.monotonic()
    for _ in range(policy.dest_limit):
        created = assert_verification(api.send(to, "sms"), 201)
        # A refused resend does not count toward the limit ("only sends that happen count").
        assert_problem(api.send(to, "sms"), "resend_cooldown")
        assert assert_verification(api.cancel(created["id"]), 200)["status"] == "canceled"
    refused = api.send(to, "sms")
    assert_problem(refused, "rate_limited")
    # Seconds until the window that began with the first send ends.
    window_left = policy.dest_window_seconds - (time.monotonic() - started)
    assert window_left - 1 <= retry_after(refused) <= policy.dest_window_seconds, describe(refused)
    # The limit is the destination's, not the client's: another IP is refused as well.
    assert_problem(api.with_ip(fresh_ip()).send(to, "sms"), "rate_limited")
    # Another destination from the same IP still works.
    assert_verification(api.send(fresh_phone(), "sms"), 201)


def test_resends_count_toward_the_destination_limit_which_refuses_a_resend(
    api: Api, policy: Policy
) -> None:
    if policy.dest_limit < 3:
        pytest.skip("needs VERIFY_DEST_LIMIT of at least 3")
    policy.require_count(policy.dest_limit * 2, "VERIFY_DEST_LIMIT")
    policy.require_wait(2 * (policy.resend_cooldown_seconds + 0.3),
                        "VERIFY_RESEND_COOLDOWN_SECONDS")
    to = fresh_phone()
    # Sends 1 and 2: a verification and its resend.
    first = assert_verification(api.send(to, "sms"), 201)
    time.sleep(policy.resend_cooldown_seconds + 0.3)
    assert assert_verification(api.send(to, "sms"), 200)["send_attempts"] == 2
    assert_verification(api.cancel(first["id"]), 200)
    # Sends 3 to dest_limit - 1: new verifications, each canceled.
    for _ in range(policy.dest_limit - 3):
        assert_verification(api.cancel(assert_verification(api.send(to, "sms"), 201)["id"]), 200)
    # Send dest_limit; the limit is full only if the resend above counted.
    last = assert_verification(api.send(to, "sms"), 201)
    time.sleep(policy.resend_cooldown_seconds + 0.3)
    assert_problem(api.send(to, "sms"), "rate_limited")
    assert assert_verification(api.get(last["id"]), 200)["send_attempts"] == 1
    # Another destination is not limited by this one.
    assert_verification(api.send(fresh_email(), "email"), 201)


def test_ip_limit_counts_sends_per_client_ip(api: Api, policy: Policy) -> None:
    policy.require_count(policy.ip_limit + 2, "VERIFY_IP_LIMIT")
    started = time.monotonic()
    for _ in range(policy.ip_limit):
        assert_verification(api.send(fresh_phone(), "sms"), 201)
    refused = api.send(fresh_phone(), "sms")
    assert_problem(refused, "rate_limited")
    window_left = policy.ip_window_seconds - (time.monotonic() - started)
    assert window_left - 1 <= retry_after(refused) <= policy.ip_window_seconds, describe(refused)
    assert_verification(api.with_ip(fresh_ip()).send(fresh_phone(), "sms"), 201)
