"""400/413/415 on both services: the documented order of checks and the `field` named."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.services.support import PHONE, Api

SEND_CASES: list[tuple[Any, str]] = [
    ([1, 2], "body"),
    ("text", "body"),
    ({"to": PHONE, "channel": "sms", "zeta": 1, "alpha": 2}, "alpha"),
    ({"to": PHONE}, "channel"),
    ({"to": PHONE, "channel": "fax"}, "channel"),
    ({"to": PHONE, "channel": ["sms"]}, "channel"),
    ({"channel": "sms"}, "to"),
    ({"to": 14155550100, "channel": "sms"}, "to"),
    ({"to": "14155550100", "channel": "sms"}, "to"),
    ({"to": "+04155550100", "channel": "sms"}, "to"),
    ({"to": "+14155550100\n", "channel": "sms"}, "to"),
    ({"to": "ada@example.com", "channel": "sms"}, "to"),
    ({"to": "ada@example", "channel": "email"}, "to"),
    ({"to": "ädä@example.com", "channel": "email"}, "to"),
    ({"to": "a" * 250 + "@example.com", "channel": "email"}, "to"),
    ({"to": PHONE, "channel": "sms", "locale": "EN"}, "locale"),
    ({"to": PHONE, "channel": "sms", "locale": "pt-br"}, "locale"),
    ({"to": PHONE, "channel": "sms", "locale": 5}, "locale"),
    ({"unknown": 1}, "unknown"),
]


@pytest.mark.parametrize(("body", "field"), SEND_CASES)
async def test_send_validation(api: Api, body: Any, field: str) -> None:
    response = await api.send.post("/api/verifications", json=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "urn:problem:verify:invalid_parameter", "title": "Invalid parameter",
        "status": 400, "detail": f"The parameter '{field}' is missing or invalid.",
        "code": "invalid_parameter", "field": field}


@pytest.mark.parametrize("key", [b"", b"with space", "é".encode(), b"tab\there", b"x" * 256])
async def test_bad_idempotency_key(api: Api, key: bytes) -> None:
    response = await api.send.post(
        "/api/verifications", json={"to": PHONE, "channel": "sms"},
        headers=[(b"Idempotency-Key", key)],
    )
    assert response.status_code == 400
    assert response.json()["field"] == "Idempotency-Key"


async def test_null_locale_is_accepted(api: Api) -> None:
    response = await api.send.post(
        "/api/verifications", json={"to": PHONE, "channel": "sms", "locale": None}
    )
    assert response.status_code == 201


CHECK_CASES: list[tuple[Any, str]] = [
    ({"to": PHONE, "code": "123456", "extra": 1}, "extra"),
    ({"code": "123456"}, "to"),
    ({"to": PHONE, "verification_id": "VE" + "0" * 32, "code": "123456"}, "to"),
    ({"to": PHONE}, "code"),
    ({"to": PHONE, "code": "123"}, "code"),
    ({"to": PHONE, "code": "12345678901"}, "code"),
    ({"to": PHONE, "code": 123456}, "code"),
    ({"to": PHONE, "code": "١٢٣٤٥٦"}, "code"),
    ({"to": "4155550100", "code": "123456"}, "to"),
    ({"to": "ada@", "code": "123456"}, "to"),
    ({"verification_id": 7, "code": "123456"}, "verification_id"),
    ([], "body"),
]


@pytest.mark.parametrize(("body", "field"), CHECK_CASES)
async def test_check_validation(api: Api, body: Any, field: str) -> None:
    response = await api.verify.post("/api/verification-checks", json=body)
    assert response.status_code == 400
    assert response.json()["field"] == field


async def test_check_with_malformed_id_is_404(api: Api) -> None:
    response = await api.check("123456", verification_id="VE123")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("service", ["send", "verify"])
@pytest.mark.parametrize(
    ("content", "content_type", "status", "code"),
    [
        (b"{", "application/json", 400, "malformed_json"),
        (b"", "application/json", 400, "malformed_json"),
        (b'{"to": NaN}', "application/json", 400, "malformed_json"),
        (b"\xff\xfe", "application/json", 400, "malformed_json"),
        (b"{}", "text/plain", 415, "unsupported_media_type"),
        (b"{}", None, 415, "unsupported_media_type"),
        (b"x" * 16385, "application/json", 413, "payload_too_large"),
    ],
)
async def test_body_problems(
    api: Api, service: str, content: bytes, content_type: str | None, status: int, code: str
) -> None:
    client, path = _route(api, service)
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.post(path, content=content, headers=headers)
    assert (response.status_code, response.json()["code"]) == (status, code)


@pytest.mark.parametrize("service", ["send", "verify"])
async def test_chunked_body_over_the_limit_is_413(api: Api, service: str) -> None:
    async def chunks() -> Any:
        for _ in range(40):
            yield b" " * 1024  # 40 KiB of whitespace: valid JSON padding, but too large

    client, path = _route(api, service)
    headers = {"Content-Type": "application/json"}
    response = await client.post(path, content=chunks(), headers=headers)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_charset_parameter_is_allowed(api: Api) -> None:
    response = await api.send.post(
        "/api/verifications", content=b'{"to": "+14155550100", "channel": "sms"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201


def _route(api: Api, service: str) -> tuple[httpx.AsyncClient, str]:
    if service == "send":
        return api.send, "/api/verifications"
    return api.verify, "/api/verification-checks"
