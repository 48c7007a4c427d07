"""A pending verification past `expires_at` reads as expired, checks 404, cancels 409."""

from __future__ import annotations

import time
from datetime import datetime

from contract_tests.client import Api
from contract_tests.policy import Policy
from contract_tests.problems import assert_problem, assert_verification


def wait_until(expires_at: str) -> None:
    deadline = datetime.fromisoformat(expires_at.replace("Z", "+00:00")).timestamp()
    time.sleep(max(0.0, deadline - time.time()) + 0.5)


def test_expired_verifications(api: Api, policy: Policy) -> None:
    policy.require_wait(policy.code_ttl_seconds + 0.5, "VERIFY_CODE_TTL_SECONDS")
    read_only, _ = api.start()
    checked, checked_code = api.start()
    canceled, _ = api.start()
    by_to, by_to_code = api.start()
    wait_until(by_to["expires_at"])

    # Nothing has written "expired" yet for this one: reading alone reports it.
    assert assert_verification(api.get(read_only["id"]), 200)["status"] == "expired"
    assert_problem(api.check(checked_code, verification_id=checked["id"]), "not_found")
    assert assert_verification(api.get(checked["id"]), 200)["status"] == "expired"
    assert_problem(api.cancel(canceled["id"]), "not_pending")
    assert assert_verification(api.get(canceled["id"]), 200)["status"] == "expired"
    assert_problem(api.check(by_to_code, to=by_to["to"]), "not_found")

    # The destination is free again: a send creates a new verification rather than resending.
    renewed = assert_verification(api.send(read_only["to"], "sms"), 201)
    assert renewed["id"] != read_only["id"]
