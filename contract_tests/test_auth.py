"""API keys (docs/api.md, API keys): every route of the verification API needs a valid key with the
route's scope; a bad one is refused the same way whatever was wrong with it; the operations routes
need none, and unknown paths and methods answer 404/405 before any key is looked at."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from contract_tests.client import Api
from contract_tests.fresh import fresh_id, fresh_phone
from contract_tests.options import api_key
from contract_tests.problems import assert_json, assert_problem, assert_verification, describe

CHALLENGE = 'Bearer realm="verify"'
# Each route of the verification API with a request that is otherwise fine: a key problem is the
# only reason to refuse it (read and cancel name an unknown id: its 404 comes after the key).
ROUTES: dict[str, Callable[[Api], httpx.Response]] = {
    "send": lambda api: api.send(fresh_phone()),
    "check": lambda api: api.check("123456", verification_id=fresh_id()),
    "read": lambda api: api.get(fresh_id()),
    "cancel": lambda api: api.cancel(fresh_id()),
}


def presentations(key: str) -> dict[str, str | None]:
    """Every way of presenting a key the API must refuse, from a valid `key` (None: no header)."""
    key_id, _, secret = key.partition(".")
    return {
        "no header": None,
        "wrong scheme": f"Basic {key}",
        "no dot": f"Bearer {key_id}{secret}",
        "empty id": f"Bearer .{secret}",
        "empty secret": f"Bearer {key_id}.",
        "unknown id": f"Bearer ak_{'0' * 16}.{secret}",
        "wrong secret": f"Bearer {key_id}.{secret[::-1]}",
    }


@pytest.fixture(scope="session")
def revoked_key(pytestconfig: pytest.Config) -> str:
    key = api_key(pytestconfig, "api-key-revoked")
    if not key:
        pytest.skip("no revoked key given (--api-key-revoked or CONTRACT_API_KEY_REVOKED)")
    return key


@pytest.fixture(scope="session")
def send_only_key(pytestconfig: pytest.Config) -> str:
    key = api_key(pytestconfig, "api-key-send-only")
    if not key:
        pytest.skip("no send-only key given (--api-key-send-only or CONTRACT_API_KEY_SEND_ONLY)")
    return key


def presented(api: Api, authorization: str | None) -> Api:
    """`api` sending `authorization` as the whole header value (None: no header)."""
    if authorization is None:
        return api.with_key(None)
    return api.with_key(None).with_headers({"Authorization": authorization})


def assert_unauthorized(response: httpx.Response) -> None:
    assert_problem(response, "unauthorized")
    assert response.headers.get("www-authenticate") == CHALLENGE, describe(response)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("case", list(presentations("ak_x.y")))
def test_a_missing_or_bad_key_is_401(api: Api, route: str, case: str) -> None:
    assert api.api_key, "the suite runs with --api-key"
    authorization = presentations(api.api_key)[case]
    assert_unauthorized(ROUTES[route](presented(api, authorization)))


@pytest.mark.parametrize("route", ROUTES)
def test_a_revoked_key_is_401(api: Api, revoked_key: str, route: str) -> None:
    assert_unauthorized(ROUTES[route](api.with_key(revoked_key)))


@pytest.mark.parametrize("route", ROUTES)
def test_every_refusal_is_the_same_answer(api: Api, route: str) -> None:
    """No hint which part of the key was wrong: the same status, header and body bytes."""
    assert api.api_key
    answers = {case: ROUTES[route](presented(api, authorization))
               for case, authorization in presentations(api.api_key).items()}
    seen = {(r.status_code, r.headers.get("www-authenticate"), r.content)
            for r in answers.values()}
    assert len(seen) == 1, "\n".join(f"{case}:{describe(r)}" for case, r in answers.items())


@pytest.mark.parametrize("route", ["check", "read", "cancel"])
def test_a_key_without_the_routes_scope_is_403(api: Api, send_only_key: str, route: str) -> None:
    assert_problem(ROUTES[route](api.with_key(send_only_key)), "forbidden")


def test_a_send_only_key_sends(api: Api, send_only_key: str) -> None:
    assert_verification(api.with_key(send_only_key).send(fresh_phone()), 201)


def test_a_key_of_another_client_works_too(api: Api, pytestconfig: pytest.Config) -> None:
    key_b = api_key(pytestconfig, "api-key-b")
    if not key_b:
        pytest.skip("no second client's key given (--api-key-b or CONTRACT_API_KEY_B)")
    as_b = api.with_key(key_b)
    created, code = as_b.start()
    assert_verification(as_b.get(created["id"]), 200)
    checked = assert_json(as_b.check(code, verification_id=created["id"]), 200)
    assert checked["valid"] is True, checked


def test_operations_routes_need_no_key(api: Api) -> None:
    anonymous = api.with_key(None)
    for base in api.urls.bases():
        assert assert_json(anonymous.request("GET", f"{base}/healthz"), 200) == {"status": "ok"}
        assert assert_json(anonymous.request("GET", f"{base}/readyz"), 200) == {"status": "ready"}
        metrics = anonymous.request("GET", f"{base}/metrics")
        assert metrics.status_code == 200, describe(metrics)


def test_unknown_paths_and_methods_answer_before_the_key(api: Api) -> None:
    """404 and 405 come before authentication: without a key they answer as with one."""
    anonymous = api.with_key(None)
    assert_problem(anonymous.request("GET", f"{api.urls.send}/api/no-such-route"), "not_found")
    assert_problem(anonymous.request("DELETE", f"{api.urls.send}/api/verifications"),
                   "method_not_allowed")
    assert_problem(anonymous.request("PUT", f"{api.urls.check}/api/verification-checks"),
                   "method_not_allowed")
