"""Validation per field, 413/415/malformed, 404/405: all application/problem+json."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

POSTS = ["/api/verifications", "/api/verification-checks", "/api/users"]


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["code"] == code and body["status"] == status
    assert body["type"] == f"urn:problem:verify:{code}"
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to": "+14155550100"}, "channel"),
        ({"channel": "sms"}, "to"),
        ({"to": "+14155550100", "channel": "sms", "b": 1, "a": 2}, "a"),
        ({"to": "not-a-number", "channel": "sms"}, "to"),
        ({"to": "not-an-address", "channel": "email"}, "to"),
        ({"to": "+14155550100", "channel": "sms", "locale": "english"}, "locale"),
        ([1, 2], "body"),
        ("just a string", "body"),
    ],
)
def test_send_validation_names_the_field(client: FlaskClient, body: Any, field: str) -> None:
    response = client.post("/api/verifications", json=body)
    found = problem(response, 400, "invalid_parameter")
    assert found == {
        "type": "urn:problem:verify:invalid_parameter", "title": "Invalid parameter",
        "status": 400, "detail": f"The parameter '{field}' is missing or invalid.",
        "code": "invalid_parameter", "field": field,
    }
    assert list(found) == ["type", "title", "status", "detail", "code", "field"]


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("raw", [b"{", b"", b"\xff\xfe", b"NaN", b'{"to": Infinity}'])
def test_malformed_json(client: FlaskClient, path: str, raw: bytes) -> None:
    response = client.post(path, data=raw, content_type="application/json")
    body = problem(response, 400, "malformed_json")
    assert body["title"] == "Malformed JSON"
    assert body["detail"] == "The request body is not valid JSON."


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "application/jsonx"])
def test_unsupported_media_type(client: FlaskClient, path: str, content_type: str | None) -> None:
    response = client.post(path, data=b'{"to": "+14155550100", "channel": "sms"}',
                           content_type=content_type)
    body = problem(response, 415, "unsupported_media_type")
    assert body["detail"] == "The request body must be application/json."


def test_charset_parameter_is_allowed(client: FlaskClient) -> None:
    response = client.post("/api/verifications", data=b'{"to": "+14155550100", "channel": "sms"}',
                           content_type="application/json; charset=utf-8")
    assert response.status_code == 201


@pytest.mark.parametrize("path", POSTS)
def test_payload_too_large(make_app: Callable[..., Flask], path: str) -> None:
    client = make_app(max_body_bytes=64).test_client()
    padded = {"to": "+14155550100", "channel": "sms", "pad": "x" * 100}
    body = problem(client.post(path, json=padded), 413, "payload_too_large")
    assert body["title"] == "Payload too large"


def test_the_default_limit_is_16_kib(client: FlaskClient) -> None:
    big = b'{"to": "+14155550100", "channel": "sms", "x": "' + b"y" * 16400 + b'"}'
    response = client.post("/api/verifications", data=big, content_type="application/json")
    problem(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    "path",
    ["/nope", "/api/verifications/VE123", "/api/verifications/ve" + "a" * 32,
     "/api/verifications/VE" + "A" * 32, "/api/verifications/VE" + "a" * 32,
     "/api/users/US" + "0" * 32, "/api/users/42", "/api/verifications/"],
)
def test_not_found(client: FlaskClient, path: str) -> None:
    body = problem(client.get(path), 404, "not_found")
    assert body["detail"] == "The requested resource was not found."


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("GET", "/api/verifications", "POST"), ("DELETE", "/api/verifications/VE" + "a" * 32, "GET"),
     ("PUT", "/api/verification-checks", "POST"), ("OPTIONS", "/api/users", "POST"),
     ("POST", "/healthz", "GET")],
)
def test_method_not_allowed(client: FlaskClient, method: str, path: str, allowed: str) -> None:
    response = client.open(path, method=method)
    body = problem(response, 405, "method_not_allowed")
    assert body["title"] == "Method not allowed"
    assert allowed in response.headers["Allow"]
