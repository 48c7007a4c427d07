"""Users (legacy, in the monolith): create, read, verifications of a user's own destination, and the
verified flags set by their approvals, on that user only."""

from __future__ import annotations

import time
from typing import Any

from contract_tests.client import Api
from contract_tests.fresh import fresh_email, fresh_id, fresh_phone, wrong_code
from contract_tests.problems import (
    USER_ID,
    assert_check,
    assert_json,
    assert_problem,
    assert_time,
    assert_verification,
    describe,
)

USER_MEMBERS = ["id", "name", "phone", "email", "phone_verified", "email_verified", "created_at"]


def create(api: Api, **body: Any) -> dict[str, Any]:
    response = api.create_user(body)
    user = assert_json(response, 201)
    assert set(user) == set(USER_MEMBERS), describe(response)
    assert USER_ID.match(user["id"]), describe(response)
    assert response.headers.get("location") == f"/api/users/{user['id']}", describe(response)
    assert_time(user["created_at"])
    return user


def wait_for_flag(api: Api, user_id: str, flag: str, within: float = 1.0) -> float:
    started = time.monotonic()
    while True:
        user = assert_json(api.get_user(user_id), 200)
        elapsed = time.monotonic() - started
        if user[flag] is True:
            return elapsed
        assert elapsed < within, f"{flag} still false {elapsed:.2f}s after the approval: {user}"
        time.sleep(0.05)


def test_create_and_get_a_user(api: Api) -> None:
    phone, email = fresh_phone(), fresh_email()
    user = create(api, name="Ada", phone=phone, email=email.upper())
    assert (user["name"], user["phone"], user["email"]) == ("Ada", phone, email)
    assert (user["phone_verified"], user["email_verified"]) == (False, False)
    assert assert_json(api.get_user(user["id"]), 200) == user


def test_one_destination_is_enough(api: Api) -> None:
    assert create(api, name="Phone only", phone=fresh_phone())["email"] is None
    assert create(api, name="Mail only", email=fresh_email())["phone"] is None


def test_unknown_or_malformed_user_is_404(api: Api) -> None:
    assert_problem(api.get_user(fresh_id("US")), "not_found")
    assert_problem(api.get_user("US123"), "not_found")


def start_for(api: Api, user_id: str, channel: str = "sms") -> dict[str, Any]:
    """Start a verification of the user's own destination (201): it carries the user's id."""
    response = api.start_for_user(user_id, {"channel": channel})
    verification = assert_verification(response, 201)
    assert response.headers.get("location") == f"/api/verifications/{verification['id']}", (
        describe(response))
    assert (verification["channel"], verification["reference"]) == (channel, user_id), (
        describe(response))
    return verification


def flags(api: Api, user_id: str) -> tuple[bool, bool]:
    user = assert_json(api.get_user(user_id), 200)
    return user["phone_verified"], user["email_verified"]


def test_a_users_verification_marks_that_user_not_another_of_the_same_phone(api: Api) -> None:
    phone = fresh_phone()
    ada = create(api, name="Ada", phone=phone)
    same_phone = create(api, name="Eve", phone=phone)
    verification = start_for(api, ada["id"])
    assert verification["to"] == phone
    code = api.inbox.wait_new_code(phone)
    checked = api.check(code, verification_id=verification["id"])
    assert assert_check(checked)["status"] == "approved", describe(checked)
    wait_for_flag(api, ada["id"], "phone_verified")
    assert flags(api, ada["id"]) == (True, False)  # only the channel that was approved
    # the one approval that marked Ada has been handled: the other user of the phone is not marked
    assert flags(api, same_phone["id"]) == (False, False)


def test_a_users_email_checked_by_destination_marks_the_user(api: Api) -> None:
    email = fresh_email()
    alan = create(api, name="Alan", email=email)
    start_for(api, alan["id"], "email")
    checked = api.check(api.inbox.wait_new_code(email), to=email)
    assert assert_check(checked)["status"] == "approved", describe(checked)
    wait_for_flag(api, alan["id"], "email_verified")


def test_a_plain_api_verification_marks_nobody(api: Api) -> None:
    phone, email = fresh_phone(), fresh_email()
    grace = create(api, name="Grace", phone=phone, email=email)
    created, code = api.start(phone)
    checked = api.check(code, verification_id=created["id"])
    assert assert_check(checked)["status"] == "approved", describe(checked)
    # an approval after it, of her own email: once it has marked her, the plain one was handled
    start_for(api, grace["id"], "email")
    assert api.check(api.inbox.wait_new_code(email), to=email).json()["status"] == "approved"
    wait_for_flag(api, grace["id"], "email_verified")
    assert flags(api, grace["id"]) == (False, True)


def test_a_wrong_code_verifies_nothing(api: Api) -> None:
    phone = fresh_phone()
    user = create(api, name="Barbara", phone=phone)
    created = start_for(api, user["id"])
    code = api.inbox.wait_new_code(phone)
    assert api.check(wrong_code(code), verification_id=created["id"]).json()["valid"] is False
    time.sleep(1.0)
    assert flags(api, user["id"]) == (False, False)


def test_a_second_start_for_the_user_is_a_resend_or_its_cooldown(api: Api) -> None:
    phone = fresh_phone()
    user = create(api, name="Hedy", phone=phone)
    first = start_for(api, user["id"])
    again = api.start_for_user(user["id"], {"channel": "sms"})
    if again.status_code == 200:
        assert assert_verification(again, 200)["id"] == first["id"], describe(again)
        assert "location" not in again.headers, describe(again)
    else:
        assert_problem(again, "resend_cooldown")


def test_user_verification_refusals(api: Api) -> None:
    user = create(api, name="Phone only", phone=fresh_phone())
    assert_problem(api.start_for_user(fresh_id("US"), {"channel": "sms"}), "not_found")
    assert_problem(api.start_for_user("US123", {"channel": "sms"}), "not_found")
    assert_problem(api.start_for_user(user["id"], {"channel": "email"}), "invalid_parameter",
                   "channel")
    assert_problem(api.start_for_user(user["id"], {"channel": "voice"}), "invalid_parameter",
                   "channel")
    assert_problem(api.start_for_user(user["id"], {"channel": "sms", "to": fresh_phone()}),
                   "invalid_parameter", "to")
    assert_problem(api.with_key(None).start_for_user(user["id"], {"channel": "sms"}),
                   "unauthorized")
