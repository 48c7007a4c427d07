"""GET /api/verifications/{id} and POST /api/verifications/{id}/cancel."""

from __future__ import annotations

import pytest

from contract_tests.client import Api
from contract_tests.fresh import fresh_id, fresh_phone, wrong_code
from contract_tests.problems import assert_problem, assert_verification, describe

MALFORMED_IDS = ["VE123", "VE" + "A" * 32, "XX" + "0" * 32, "VE" + "0" * 33, "ve" + "0" * 32,
                 "VE" + "g" * 32, "%20", "..%2F..%2Fetc"]


def test_get_returns_the_verification(api: Api) -> None:
    to = fresh_phone()
    response = api.send(to, "sms")
    created = assert_verification(response, 201)
    read = api.request("GET", api.urls.send + response.headers["location"])
    assert assert_verification(read, 200) == created
    assert read.content == response.content, describe(read)  # compact, same member order
    api.inbox.wait_new_code(to)


def test_get_unknown_is_404(api: Api) -> None:
    assert_problem(api.get(fresh_id()), "not_found")


@pytest.mark.parametrize("bad_id", MALFORMED_IDS)
def test_get_and_cancel_with_a_malformed_id_are_404(api: Api, bad_id: str) -> None:
    assert_problem(api.get(bad_id), "not_found")
    assert_problem(api.cancel(bad_id), "not_found")


def test_cancel_pending_then_again_is_409(api: Api) -> None:
    created, code = api.start()
    canceled = assert_verification(api.cancel(created["id"]), 200)
    assert canceled == {**created, "status": "canceled"}
    assert assert_verification(api.get(created["id"]), 200)["status"] == "canceled"
    assert_problem(api.cancel(created["id"]), "not_pending")
    # A canceled verification's code is gone, by id and by destination.
    assert_problem(api.check(code, verification_id=created["id"]), "not_found")
    assert_problem(api.check(code, to=created["to"]), "not_found")


def test_cancel_unknown_is_404(api: Api) -> None:
    assert_problem(api.cancel(fresh_id()), "not_found")


def test_cancel_ignores_any_body(api: Api) -> None:
    first, _ = api.start()
    response = api.cancel(first["id"], content='{"reason": 1}',
                          headers={"Content-Type": "application/json"})
    assert assert_verification(response, 200)["status"] == "canceled"
    second, _ = api.start()
    response = api.cancel(second["id"], content="not json", headers={"Content-Type": "text/plain"})
    assert assert_verification(response, 200)["status"] == "canceled"


def test_cancel_approved_is_409(api: Api) -> None:
    created, code = api.start()
    assert api.check(code, verification_id=created["id"]).json()["status"] == "approved"
    assert_problem(api.cancel(created["id"]), "not_pending")


def test_cancel_exhausted_is_409(api: Api) -> None:
    created, code = api.start()
    status = ""
    while status != "max_attempts_reached":
        status = api.check(wrong_code(code), verification_id=created["id"]).json()["status"]
    assert_problem(api.cancel(created["id"]), "not_pending")
    assert assert_verification(api.get(created["id"]), 200)["status"] == "max_attempts_reached"


def test_a_new_verification_after_cancel_has_a_new_id_and_code(api: Api) -> None:
    first, _ = api.start()
    assert_verification(api.cancel(first["id"]), 200)
    second, _ = api.start(first["to"])
    assert second["id"] != first["id"]
    assert second["send_attempts"] == 1


def test_unknown_paths_are_404_on_every_base(api: Api) -> None:
    for base in api.urls.bases():
        for method, path in [("GET", "/nope"), ("GET", "/api/nothing-here"),
                             ("GET", "/api/verifications/"), ("POST", "/api/verifications/")]:
            assert_problem(api.request(method, base + path), "not_found")


METHODS_NOT_ALLOWED = [
    ("send", "DELETE", "/api/verifications", "POST"),
    ("send", "GET", "/api/verifications", "POST"),
    ("send", "DELETE", "/api/verifications/VE" + "a" * 32, "GET"),
    ("send", "GET", "/api/verifications/VE" + "a" * 32 + "/cancel", "POST"),
    ("check", "GET", "/api/verification-checks", "POST"),
    ("check", "PUT", "/api/verification-checks", "POST"),
    ("users", "OPTIONS", "/api/users", "POST"),
]


@pytest.mark.parametrize(("role", "method", "path", "allowed"), METHODS_NOT_ALLOWED,
                         ids=[f"{m} {p[:30]}" for _, m, p, _ in METHODS_NOT_ALLOWED])
def test_unsupported_methods_are_405_naming_the_allowed_ones(
    api: Api, role: str, method: str, path: str, allowed: str
) -> None:
    response = api.request(method, getattr(api.urls, role) + path)
    assert_problem(response, "method_not_allowed")
    assert allowed in response.headers.get("allow", ""), describe(response)


def test_operations_routes_refuse_other_methods(api: Api) -> None:
    for base in api.urls.bases():
        response = api.request("POST", f"{base}/healthz")
        assert_problem(response, "method_not_allowed")
        assert "GET" in response.headers.get("allow", ""), describe(response)
