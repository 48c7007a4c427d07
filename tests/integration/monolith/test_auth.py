"""API keys on the monolith (docs/api.md "Authentication"): 401 and 403 bodies and headers, their
place in the order of checks, the routes that need none, g.client, and a reload without restart."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g
from flask.testing import FlaskClient

from monolith.logs import API_KEY
from tests.support.api_keys import IssuedKey, new_key, write_keyring

UNAUTHORIZED = {
    "type": "urn:problem:verify:unauthorized", "title": "Unauthorized", "status": 401,
    "detail": "A valid API key is required.", "code": "unauthorized",
}
FORBIDDEN = {
    "type": "urn:problem:verify:forbidden", "title": "Forbidden", "status": 403,
    "detail": "The API key does not allow this operation.", "code": "forbidden",
}
VID = "VE" + "0" * 32
SEND = {"to": "+14155550100", "channel": "sms"}
# Each route of the verification API, the scope it needs, and a request for it.
ROUTES = [
    ("send", "POST", "/api/verifications", SEND),
    ("read", "GET", f"/api/verifications/{VID}", None),
    ("cancel", "POST", f"/api/verifications/{VID}/cancel", None),
    ("check", "POST", "/api/verification-checks", {"to": "+14155550100", "code": "123456"}),
]


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, IssuedKey]:
    return {"all": new_key("acme"), "send_only": new_key("acme", ("send",)),
            "revoked": new_key("acme", revoked=True)}


@pytest.fixture
def keyring_file(tmp_path: Path, keys: dict[str, IssuedKey]) -> Path:
    return write_keyring(tmp_path / "keyring.json", *keys.values())


@pytest.fixture
def bare(make_app: Callable[..., Flask], keyring_file: Path) -> FlaskClient:
    """A client on an app with this test's keyring that sends no key of its own."""
    return FlaskClient(make_app(keyring_file=str(keyring_file)))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def call(client: FlaskClient, method: str, path: str, body: Any, **kw: Any) -> Any:
    return client.open(path, method=method, json=body, **kw)


def assert_unauthorized(response: Any) -> None:
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json() == UNAUTHORIZED
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="verify"'


@pytest.mark.parametrize(("scope", "method", "path", "body"), ROUTES)
def test_every_route_needs_a_key(
    bare: FlaskClient, keys: dict[str, IssuedKey], scope: str, method: str, path: str, body: Any
) -> None:
    key, revoked = keys["all"], keys["revoked"]
    for headers in [
        {},
        {"Authorization": f"Basic {key.token}"},
        bearer(key.id),  # no "."
        bearer(f".{key.secret}"),
        bearer(f"{key.id}."),
        bearer(f"ak_0000000000000000.{key.secret}"),
        bearer(f"{key.id}.{key.secret}x"),
        bearer(revoked.token),
    ]:
        assert_unauthorized(call(bare, method, path, body, headers=headers))


@pytest.mark.parametrize(("scope", "method", "path", "body"), ROUTES)
def test_a_key_without_the_scope_is_forbidden(
    bare: FlaskClient, keys: dict[str, IssuedKey], scope: str, method: str, path: str, body: Any
) -> None:
    response = call(bare, method, path, body, headers=bearer(keys["send_only"].token))
    if scope == "send":
        assert response.status_code == 201
    else:
        assert response.status_code == 403
        assert response.get_json() == FORBIDDEN and "WWW-Authenticate" not in response.headers


def test_the_scheme_is_case_insensitive(bare: FlaskClient, keys: dict[str, IssuedKey]) -> None:
    response = bare.post("/api/verifications", json=SEND,
                         headers={"Authorization": f"bEARER {keys['all'].token}"})
    assert response.status_code == 201


def test_size_then_route_then_key_then_the_rest(bare: FlaskClient) -> None:
    too_big = bare.post("/api/verifications", data=b"x" * 20000,
                        headers={"Content-Type": "application/json"})
    assert too_big.status_code == 413
    assert bare.get("/api/nothing-here").status_code == 404
    assert bare.delete("/api/verifications").status_code == 405
    assert bare.head(f"/api/verifications/{VID}").status_code == 405
    assert_unauthorized(bare.post("/api/verifications", data="x",
                                  headers={"Content-Type": "text/plain"}))  # before 415
    assert_unauthorized(bare.post("/api/verification-checks", data="{",
                                  headers={"Content-Type": "application/json"}))  # before 400


def test_operations_and_users_need_no_key(bare: FlaskClient) -> None:
    assert bare.get("/healthz").status_code == 200
    assert bare.get("/readyz").status_code == 200
    assert bare.get("/metrics").status_code == 200
    assert bare.get("/openapi.json").status_code == 200
    created = bare.post("/api/users", json={"name": "Ada", "phone": "+14155550100"})
    assert created.status_code == 201


def test_the_client_is_known_to_the_request_and_its_log_lines(
    make_app: Callable[..., Flask], keyring_file: Path, keys: dict[str, IssuedKey]
) -> None:
    app = make_app(keyring_file=str(keyring_file))
    seen: list[tuple[str, tuple[str, str] | None]] = []

    @app.after_request
    def remember(response: Any) -> Any:
        seen.append((g.client, API_KEY.get()))
        return response

    assert FlaskClient(app).post("/api/verifications", json=SEND,
                                 headers=bearer(keys["all"].token)).status_code == 201
    assert seen == [("acme", (keys["all"].id, "acme"))]


def test_without_a_keyring_development_answers_401_and_says_how_to_make_a_key(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        client = FlaskClient(make_app(keyring_file=""))
    assert "./dev keys create NAME" in caplog.text
    assert_unauthorized(client.post("/api/verifications", json=SEND))
    assert client.get("/healthz").status_code == 200


def test_a_new_and_a_revoked_key_take_effect_without_a_restart(
    make_app: Callable[..., Flask], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old, added = new_key("old"), new_key("new")
    path = write_keyring(tmp_path / "keyring.json", old)
    client = FlaskClient(make_app(keyring_file=str(path), keyring_reload_seconds=1))
    first = client.post("/api/verifications", json=SEND, headers=bearer(old.token))
    assert first.status_code == 201
    write_keyring(path, IssuedKey(old.id, old.secret, old.client, revoked=True), added)
    os.utime(path, ns=(1, 1))  # a new mtime even within the same clock tick
    deadline = time.monotonic() + 5
    while client.post("/api/verifications", json={"to": "+14155550101", "channel": "sms"},
                      headers=bearer(added.token)).status_code == 401:
        assert time.monotonic() < deadline, "the new key was not picked up"
        time.sleep(0.2)
    assert_unauthorized(client.post("/api/verifications", json=SEND, headers=bearer(old.token)))
    assert old.secret not in caplog.text and added.secret not in caplog.text
