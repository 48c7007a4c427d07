"""Idempotency-Key on POST /api/verifications: exact replay, nothing re-sent, 422 on reuse."""

from __future__ import annotations

import json
import secrets
import time

from contract_tests.client import Api
from contract_tests.fresh import fresh_phone
from contract_tests.policy import Policy
from contract_tests.problems import assert_problem, assert_verification, describe


def key() -> str:
    return "contract-" + secrets.token_urlsafe(16)


def test_replay_is_exact_and_sends_nothing(api: Api) -> None:
    to, idem = fresh_phone(), key()
    first = api.send(to, "sms", idempotency_key=idem)
    created = assert_verification(first, 201)
    api.inbox.wait_new_code(to)
    replay = api.send(to, "sms", idempotency_key=idem)
    assert replay.status_code == 201, describe(replay)
    assert replay.headers.get("idempotent-replayed") == "true", describe(replay)
    assert replay.headers.get("location") == first.headers.get("location")
    assert replay.content == first.content, describe(replay)
    assert replay.headers.get("content-type") == first.headers.get("content-type")
    assert "idempotent-replayed" not in first.headers
    api.inbox.assert_nothing_new(to)
    assert assert_verification(api.get(created["id"]), 200)["send_attempts"] == 1


def test_replay_matches_the_parsed_body_not_its_spelling(api: Api) -> None:
    to, idem = fresh_phone(), key()
    first = api.send(content=json.dumps({"to": to, "channel": "sms"}), idempotency_key=idem,
                     headers={"Content-Type": "application/json"})
    assert_verification(first, 201)
    replay = api.send(content=json.dumps({"channel": "sms", "to": to}, indent=2),
                      idempotency_key=idem, headers={"Content-Type": "application/json"})
    assert replay.status_code == 201, describe(replay)
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.content == first.content


def test_same_key_with_another_body_is_422(api: Api) -> None:
    idem, to = key(), fresh_phone()
    assert_verification(api.send(to, "sms", idempotency_key=idem), 201)
    other = fresh_phone()
    assert_problem(api.send(other, "sms", idempotency_key=idem), "idempotency_key_reused")
    assert api.inbox.count(other) == 0
    # One more member is another body too, even for the same destination.
    assert_problem(api.send(to, "sms", locale="en", idempotency_key=idem),
                   "idempotency_key_reused")


def test_replay_is_the_first_response_not_the_current_record(api: Api, policy: Policy) -> None:
    policy.require_wait(policy.resend_cooldown_seconds + 0.3, "VERIFY_RESEND_COOLDOWN_SECONDS")
    to, idem = fresh_phone(), key()
    first = api.send(to, "sms", idempotency_key=idem)
    assert assert_verification(first, 201)["send_attempts"] == 1
    time.sleep(policy.resend_cooldown_seconds + 0.3)
    assert assert_verification(api.send(to, "sms"), 200)["send_attempts"] == 2  # no key
    replay = api.send(to, "sms", idempotency_key=idem)
    assert replay.status_code == 201, describe(replay)
    assert replay.content == first.content, describe(replay)
    assert replay.headers.get("location") == first.headers.get("location")


def test_a_refused_send_is_not_remembered(api: Api, policy: Policy) -> None:
    policy.require_wait(policy.resend_cooldown_seconds + 0.3, "VERIFY_RESEND_COOLDOWN_SECONDS")
    first, code = api.start()
    idem = key()
    refused = api.send(first["to"], "sms", idempotency_key=idem)
    assert_problem(refused, "resend_cooldown")
    assert "idempotent-replayed" not in refused.headers
    time.sleep(policy.resend_cooldown_seconds + 0.3)
    resent = api.send(first["to"], "sms", idempotency_key=idem)
    assert assert_verification(resent, 200)["send_attempts"] == 2
    assert api.inbox.wait_new_code(first["to"]) == code
    replay = api.send(first["to"], "sms", idempotency_key=idem)
    assert replay.status_code == 200, describe(replay)
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.content == resent.content
    assert "location" not in replay.headers, describe(replay)  # a resend's 200 has none
    api.inbox.assert_nothing_new(first["to"])
