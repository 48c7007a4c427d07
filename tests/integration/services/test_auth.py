"""API keys on the services (docs/api.md "Authentication"): 401 and 403 bodies and headers, their
place in the order of checks, the routes that need none, the client on the request's log lines,
and a reload without restart."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from fastapi import FastAPI

from services.send.app import create_app as create_send_app
from services.verification.settings import Settings
from services.verify.app import create_app as create_verify_app
from tests.integration.services.support import CLIENT_IP, make_settings
from tests.support.api_keys import IssuedKey, new_key, write_keyring
from tests.support.json_logs import json_log_lines

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
CHECK = {"to": "+14155550100", "code": "123456"}
# Each route of the verification API: its service, the scope it needs, and a request for it.
ROUTES = [
    ("send", "send", "POST", "/api/verifications", SEND),
    ("send", "read", "GET", f"/api/verifications/{VID}", None),
    ("send", "cancel", "POST", f"/api/verifications/{VID}/cancel", None),
    ("verify", "check", "POST", "/api/verification-checks", CHECK),
]


@asynccontextmanager
async def bare(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the running app that sends no key of its own."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(CLIENT_IP, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def create(service: str, settings: Settings) -> FastAPI:
    return (create_send_app if service == "send" else create_verify_app)(settings)


@pytest.fixture
def keys() -> dict[str, IssuedKey]:
    return {"all": new_key("acme"), "send_only": new_key("acme", ("send",)),
            "revoked": new_key("acme", revoked=True)}


@pytest.fixture
def settings(redis_url: str, tmp_path: Path, keys: dict[str, IssuedKey]) -> Settings:
    path = write_keyring(tmp_path / "keyring.json", *keys.values())
    return make_settings(redis_url, keyring_file=str(path))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == UNAUTHORIZED
    assert response.headers["www-authenticate"] == 'Bearer realm="verify"'


@pytest.mark.parametrize(("service", "scope", "method", "path", "body"), ROUTES)
async def test_every_route_needs_a_key(
    settings: Settings, keys: dict[str, IssuedKey], redis_client: redis.Redis,
    service: str, scope: str, method: str, path: str, body: Any,
) -> None:
    key, revoked = keys["all"], keys["revoked"]
    async with bare(create(service, settings)) as client:
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
            assert_unauthorized(await client.request(method, path, json=body, headers=headers))


@pytest.mark.parametrize(("service", "scope", "method", "path", "body"), ROUTES)
async def test_a_key_without_the_scope_is_forbidden(
    settings: Settings, keys: dict[str, IssuedKey], redis_client: redis.Redis,
    service: str, scope: str, method: str, path: str, body: Any,
) -> None:
    async with bare(create(service, settings)) as client:
        response = await client.request(method, path, json=body,
                                        headers=bearer(keys["send_only"].token))
    if scope == "send":
        assert response.status_code == 201
    else:
        assert response.status_code == 403
        assert response.json() == FORBIDDEN and "www-authenticate" not in response.headers


async def test_the_scheme_is_case_insensitive(
    settings: Settings, keys: dict[str, IssuedKey], redis_client: redis.Redis
) -> None:
    async with bare(create_send_app(settings)) as client:
        response = await client.post("/api/verifications", json=SEND,
                                     headers={"Authorization": f"bEARER {keys['all'].token}"})
    assert response.status_code == 201


async def test_size_then_route_then_key_then_the_rest(settings: Settings) -> None:
    async with bare(create_send_app(settings)) as send, \
            bare(create_verify_app(settings)) as verify:
        too_big = await send.post("/api/verifications", content=b"x" * 20000,
                                  headers={"Content-Type": "application/json"})
        assert too_big.status_code == 413
        assert (await send.get("/api/nothing-here")).status_code == 404
        assert (await send.delete("/api/verifications")).status_code == 405
        assert (await send.head(f"/api/verifications/{VID}")).status_code == 405
        assert_unauthorized(await send.post("/api/verifications", content="x",
                                            headers={"Content-Type": "text/plain"}))  # not 415
        assert_unauthorized(await verify.post("/api/verification-checks", content="{",
                                              headers={"Content-Type": "application/json"}))


async def test_operations_need_no_key(settings: Settings) -> None:
    async with bare(create_send_app(settings)) as client:
        for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"):
            assert (await client.get(path)).status_code == 200, path


async def test_the_client_is_on_the_request_log_lines_never_the_secret(
    settings: Settings, keys: dict[str, IssuedKey], redis_client: redis.Redis,
    json_logs: None, capfd: pytest.CaptureFixture[str],
) -> None:
    async with bare(create_send_app(settings)) as client:
        response = await client.post("/api/verifications", json=SEND,
                                     headers=bearer(keys["all"].token))
        assert response.status_code == 201
        assert (await client.get("/healthz")).status_code == 200
    output = capfd.readouterr().err
    [sent] = [e for e in json_log_lines(output) if e["message"].startswith("send outcome=")]
    assert (sent["client"], sent["key_id"]) == ("acme", keys["all"].id)
    assert keys["all"].secret not in output


async def test_without_a_keyring_development_answers_401_and_says_how_to_make_a_key(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_send_app(make_settings(redis_url, keyring_file=""))
    assert "./dev keys create NAME" in caplog.text
    async with bare(app) as client:
        assert_unauthorized(await client.post("/api/verifications", json=SEND))
        assert (await client.get("/healthz")).status_code == 200


async def test_a_new_and_a_revoked_key_take_effect_without_a_restart(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    old, added = new_key("old"), new_key("new")
    path = write_keyring(tmp_path / "keyring.json", old)
    settings = make_settings(redis_url, keyring_file=str(path), keyring_reload_seconds=1)
    async with bare(create_send_app(settings)) as client:
        first = await client.post("/api/verifications", json=SEND, headers=bearer(old.token))
        assert first.status_code == 201
        write_keyring(path, IssuedKey(old.id, old.secret, old.client, revoked=True), added)
        os.utime(path, ns=(1, 1))  # a new mtime even within the same clock tick
        deadline = time.monotonic() + 5
        while (await client.post("/api/verifications", json={"to": "+14155550101",
                                                              "channel": "sms"},
                                 headers=bearer(added.token))).status_code == 401:
            assert time.monotonic() < deadline, "the new key was not picked up"
            await asyncio.sleep(0.2)
        assert_unauthorized(
            await client.post("/api/verifications", json=SEND, headers=bearer(old.token)))
