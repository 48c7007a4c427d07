"""Request validation: 400 per field in the documented order, malformed JSON, 415, 413."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from contract_tests.client import Api
from contract_tests.fresh import fresh_phone
from contract_tests.policy import Policy
from contract_tests.problems import assert_problem

PHONE = "+14155550100"  # valid: each case fails on the member it names
FULLWIDTH_DIGITS = "".join(chr(0xFF11 + i) for i in range(6))  # str.isdigit() says yes
ARABIC_INDIC_DIGITS = "".join(chr(0x0661 + i) for i in range(6))  # so does \d without re.ASCII
SEND_CASES: list[tuple[str, Any, str]] = [
    ("array body", [PHONE], "body"),
    ("string body", "hello", "body"),
    ("null body", None, "body"),
    ("unknown member", {"to": PHONE, "channel": "sms", "zeta": 1}, "zeta"),
    ("first unknown in sorted order", {"to": PHONE, "channel": "x", "mu": 1, "beta": 2}, "beta"),
    ("unknown member alone", {"unknown": 1}, "unknown"),
    ("channel missing", {"to": PHONE}, "channel"),
    ("channel not a string", {"to": PHONE, "channel": 1}, "channel"),
    ("channel a list", {"to": PHONE, "channel": ["sms"]}, "channel"),
    ("channel unknown", {"to": PHONE, "channel": "voice"}, "channel"),
    ("channel before to", {"channel": "fax", "to": "nope"}, "channel"),
    ("to missing", {"channel": "sms"}, "to"),
    ("to not a string", {"to": 14155550100, "channel": "sms"}, "to"),
    ("sms without plus", {"to": "14155550100", "channel": "sms"}, "to"),
    ("sms not digits", {"to": "not-a-number", "channel": "sms"}, "to"),
    ("sms leading zero", {"to": "+04155550100", "channel": "sms"}, "to"),
    ("sms too short", {"to": "+12345", "channel": "sms"}, "to"),
    ("sms too long", {"to": "+1234567890123456", "channel": "sms"}, "to"),
    ("email on sms", {"to": "ada@example.test", "channel": "sms"}, "to"),
    ("phone on email", {"to": PHONE, "channel": "email"}, "to"),
    ("email without domain dot", {"to": "ada@example", "channel": "email"}, "to"),
    ("email without at", {"to": "not-an-address", "channel": "email"}, "to"),
    ("email non ascii", {"to": "adä@example.test", "channel": "email"}, "to"),
    ("email too long", {"to": "a" * 243 + "@example.test", "channel": "email"}, "to"),
    ("locale upper", {"to": PHONE, "channel": "sms", "locale": "EN"}, "locale"),
    ("locale region lower", {"to": PHONE, "channel": "sms", "locale": "pt-br"}, "locale"),
    ("locale not a string", {"to": PHONE, "channel": "sms", "locale": 5}, "locale"),
    ("locale a word", {"to": PHONE, "channel": "sms", "locale": "english"}, "locale"),
    ("to before locale", {"to": "x", "channel": "sms", "locale": "EN"}, "to"),
    ("sms trailing newline", {"to": PHONE + "\n", "channel": "sms"}, "to"),
    ("email trailing newline", {"to": "ada@example.test\n", "channel": "email"}, "to"),
    ("header injection in email", {"to": "ada@example.test\r\nBcc: x@example.test",
                                   "channel": "email"}, "to"),
]


@pytest.mark.parametrize(("body", "field"), [c[1:] for c in SEND_CASES],
                         ids=[c[0] for c in SEND_CASES])
def test_send_rejects_invalid_parameters(api: Api, body: Any, field: str) -> None:
    assert_problem(api.send(body=body), "invalid_parameter", field)


@pytest.mark.parametrize("idem", ["", "a" * 256, "has space", "tab\tin", "é".encode()],
                         ids=["empty", "too long", "space", "tab", "non ascii"])
def test_send_rejects_a_bad_idempotency_key(api: Api, idem: str | bytes) -> None:
    to = fresh_phone()
    assert_problem(api.send(to, "sms", idempotency_key=idem), "invalid_parameter",
                   "Idempotency-Key")
    assert api.inbox.count(to) == 0


def test_send_accepts_longest_email_and_idempotency_key(api: Api) -> None:
    longest = "a" * 229 + secrets.token_hex(6) + "@example.test"
    assert len(longest) == 254
    response = api.send(longest, "email", idempotency_key=secrets.token_hex(16) + "k" * 223)
    assert response.status_code == 201, response.text


def post_raw(api: Api, endpoint: str, content: Any, headers: dict[str, str]) -> httpx.Response:
    """POST `content` as it is to one of the three endpoints with a body."""
    if endpoint == "send":
        return api.send(content=content, headers=headers)
    if endpoint == "check":
        return api.check(content=content, headers=headers)
    return api.request("POST", f"{api.urls.users}/api/users", content=content, headers=headers)


ENDPOINTS = ["send", "check", "users"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("content", ["{", '{"to": "+15550100999",}', "nope", "\xff", "\xff\xfe",
                                     "", "NaN", '{"to": NaN}', '{"to": Infinity}',
                                     '{"to": "+15550100999", "to": "+15550100998", "code": "1"}'],
                         ids=["truncated", "trailing comma", "word", "bad utf8", "utf16 bom",
                              "empty", "NaN", "NaN member", "Infinity member",
                              "duplicate member"])
def test_malformed_json(api: Api, endpoint: str, content: str) -> None:
    raw = content.encode("latin-1")
    assert_problem(post_raw(api, endpoint, raw, {"Content-Type": "application/json"}),
                   "malformed_json")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "application/jsonx", None])
def test_other_media_types_are_415(api: Api, endpoint: str, content_type: str | None) -> None:
    content = f'{{"to": "{fresh_phone()}", "channel": "sms"}}'
    headers = {"Content-Type": content_type} if content_type else {}
    assert_problem(post_raw(api, endpoint, content, headers), "unsupported_media_type")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_bodies_over_the_limit_are_413(api: Api, policy: Policy, endpoint: str) -> None:
    padding = "x" * (policy.max_body_bytes + 1)
    content = f'{{"to": "{fresh_phone()}", "channel": "sms", "pad": "{padding}"}}'
    headers = {"Content-Type": "application/json"}
    assert_problem(post_raw(api, endpoint, content, headers), "payload_too_large")
    # Size is judged first: a body that is too large is 413 even when it is not JSON at all.
    assert_problem(post_raw(api, endpoint, padding, headers), "payload_too_large")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_chunked_bodies_over_the_limit_are_413(api: Api, policy: Policy, endpoint: str) -> None:
    def chunks() -> Iterator[bytes]:  # whitespace: valid JSON padding, but too much of it
        for _ in range(policy.max_body_bytes // 1024 + 2):
            yield b" " * 1024

    headers = {"Content-Type": "application/json"}
    assert_problem(post_raw(api, endpoint, chunks(), headers), "payload_too_large")


CHECK_CASES: list[tuple[str, Any, str]] = [
    ("array body", ["123456"], "body"),
    ("empty array body", [], "body"),
    ("unknown member", {"to": PHONE, "code": "123456", "extra": True}, "extra"),
    ("neither to nor id", {"code": "123456"}, "to"),
    ("both to and id", {"to": PHONE, "verification_id": "VE" + "0" * 32, "code": "123456"}, "to"),
    ("code missing", {"to": PHONE}, "code"),
    ("code not a string", {"to": PHONE, "code": 123456}, "code"),
    ("code too short", {"to": PHONE, "code": "123"}, "code"),
    ("code too long", {"to": PHONE, "code": "12345678901"}, "code"),
    ("code not digits", {"to": PHONE, "code": "12a456"}, "code"),
    ("code non ascii digits", {"to": PHONE, "code": FULLWIDTH_DIGITS}, "code"),
    ("code arabic-indic digits", {"to": PHONE, "code": ARABIC_INDIC_DIGITS}, "code"),
    ("code before to", {"to": "nope", "code": "x"}, "code"),
    ("to invalid", {"to": "4155550100", "code": "123456"}, "to"),
    ("email invalid", {"to": "ada@nowhere", "code": "123456"}, "to"),
    ("email without domain", {"to": "ada@", "code": "123456"}, "to"),
    ("id not a string", {"verification_id": 7, "code": "123456"}, "verification_id"),
]


@pytest.mark.parametrize(("body", "field"), [c[1:] for c in CHECK_CASES],
                         ids=[c[0] for c in CHECK_CASES])
def test_check_rejects_invalid_parameters(api: Api, body: Any, field: str) -> None:
    assert_problem(api.check(body=body), "invalid_parameter", field)


def test_users_reject_invalid_parameters(api: Api) -> None:
    cases: list[tuple[Any, set[str]]] = [
        ({"phone": fresh_phone()}, {"name"}),
        ({"name": "", "phone": fresh_phone()}, {"name"}),
        ({"name": "x" * 101, "phone": fresh_phone()}, {"name"}),
        ({"name": 5, "phone": fresh_phone()}, {"name"}),
        ({"name": "Ada"}, {"phone", "email"}),
        ({"name": "Ada", "phone": "0155"}, {"phone"}),
        ({"name": "Ada", "email": "ada@"}, {"email"}),
        ({"name": "Ada", "phone": fresh_phone(), "admin": True}, {"admin"}),
    ]
    for body, fields in cases:
        response = api.create_user(body)
        problem = response.json()
        assert problem.get("field") in fields, (body, response.text)
        assert_problem(response, "invalid_parameter", problem["field"])


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "PUT", "DELETE"])
def test_methods_outside_the_api_are_405(api: Api, method: str) -> None:
    response = api.request(method, f"{api.urls.send}/api/verifications")
    assert response.status_code == 405, response.text
    if method != "HEAD":  # a HEAD answer has no body to read
        assert_problem(response, "method_not_allowed")


@pytest.mark.parametrize("path", ["/api/verifications/VE" + "0" * 32, "/api/users/US" + "0" * 32])
def test_head_on_a_read_route_is_405_not_an_implicit_get(api: Api, path: str) -> None:
    base = api.urls.users if path.startswith("/api/users") else api.urls.send
    response = api.request("HEAD", base + path)
    assert response.status_code == 405, response.headers
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["allow"] == "GET"
