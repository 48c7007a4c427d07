"""Users (legacy, in the monolith): create, read, and verified flags driven by approvals."""

from __future__ import annotations

import time
from typing import Any

from contract_tests.client import Api
from contract_tests.fresh import fresh_email, fresh_id, fresh_phone, wrong_code
from contract_tests.problems import USER_ID, assert_json, assert_problem, assert_time, describe

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


def test_phone_verified_turns_true_after_an_approval(api: Api) -> None:
    phone = fresh_phone()
    user = create(api, name="Grace", phone=phone)
    created, code = api.start(phone)
    assert api.check(code, verification_id=created["id"]).json()["status"] == "approved"
    wait_for_flag(api, user["id"], "phone_verified")
    assert assert_json(api.get_user(user["id"]), 200)["email_verified"] is False


def test_email_verified_turns_true_after_an_approval_by_destination(api: Api) -> None:
    email = fresh_email()
    user = create(api, name="Alan", email=email)
    _, code = api.start(email, "email")
    assert api.check(code, to=email).json()["status"] == "approved"
    wait_for_flag(api, user["id"], "email_verified")


def test_a_wrong_code_verifies_nothing(api: Api) -> None:
    phone = fresh_phone()
    user = create(api, name="Barbara", phone=phone)
    created, code = api.start(phone)
    assert api.check(wrong_code(code), verification_id=created["id"]).json()["valid"] is False
    time.sleep(1.0)
    assert assert_json(api.get_user(user["id"]), 200)["phone_verified"] is False
