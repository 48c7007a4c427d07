"""Helpers for the services' integration tests: apps with lifespans run, codes from the outbox."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis
from fastapi import FastAPI

from devtools.redis_server import cluster_mode
from services.send.app import create_app as create_send_app
from services.verification import crypto, keys, packed
from services.verification.settings import Settings
from services.verify.app import create_app as create_verify_app
from services.web.factory import RedisFactory
from tests.support.api_keys import new_key, shared_key, shared_keyring_file, write_keyring

PEPPER = "integration-test-pepper"
CLIENT_IP = "203.0.113.7"
PHONE = "+14155550100"
CLIENT = shared_key().client  # the client `serve` calls as
OTHER = new_key("globex")  # a second client, in the keyring of `two_client_settings`
AS_OTHER = OTHER.authorization


def make_settings(redis_url: str, **overrides: Any) -> Settings:
    """The tests' settings: their keyring holds `shared_key()`, which `serve` sends."""
    given = {"keyring_file": shared_keyring_file(), "redis_cluster": cluster_mode(), **overrides}
    return Settings(redis_url=redis_url, code_pepper=PEPPER, **given)


def two_client_settings(redis_url: str, **overrides: Any) -> Settings:
    """The tests' settings with a keyring holding the shared key and OTHER's."""
    folder = Path(tempfile.mkdtemp(prefix="test-keyring-"))
    keyring = write_keyring(folder / "keyring.json", shared_key(), OTHER)
    return make_settings(redis_url, keyring_file=str(keyring), **overrides)


@asynccontextmanager
async def serve(app: FastAPI, client_ip: str = CLIENT_IP) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the app in-process, with the app's lifespan (Redis pool) running; it
    sends the tests' API key on every request (a request's own Authorization header wins)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(client_ip, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                     headers=shared_key().authorization) as client:
            yield client


@dataclass
class Api:
    send: httpx.AsyncClient
    verify: httpx.AsyncClient
    settings: Settings
    redis: redis.Redis

    async def start(self, to: str = PHONE, channel: str = "sms", **kw: Any) -> httpx.Response:
        return await self.send.post("/api/verifications", json={"to": to, "channel": channel}, **kw)

    async def check(self, code: str, **by: str) -> httpx.Response:
        return await self.verify.post("/api/verification-checks", json={"code": code, **by})

    def code_for(self, verification_id: str) -> str:
        return learn_code(self.redis, verification_id, self.settings.code_pepper)


@asynccontextmanager
async def running_api(
    redis_client: redis.Redis,
    settings: Settings,
    client_ip: str = CLIENT_IP,
    redis_factory: RedisFactory | None = None,
) -> AsyncIterator[Api]:
    async with (
        serve(create_send_app(settings, redis_factory), client_ip) as send,
        serve(create_verify_app(settings, redis_factory), client_ip) as verify,
    ):
        yield Api(send, verify, settings, redis_client)


def learn_code(client: redis.Redis, verification_id: str, pepper: str = PEPPER) -> str:
    """The code of the newest delivery job for this verification, opened as the dispatcher does:
    a version-3 job on its bucket's outbox, else a version-2 one on vfy:outbox."""
    streams = [(keys.v3_outbox_stream(keys.v3_bucket_of_id(verification_id)),
                crypto.open_sealed_code_v3), (keys.OUTBOX_STREAM, crypto.open_sealed_code)]
    for stream, open_seal in streams:
        entries: list[tuple[str, dict[str, str]]]
        entries = client.xrevrange(stream)  # type: ignore[assignment]
        for _, fields in entries:
            if fields["verification_id"] == verification_id:
                return open_seal(pepper, verification_id, fields["code_sealed"])
    raise AssertionError(f"no delivery job for {verification_id}")


def outbox_jobs(client: redis.Redis) -> list[dict[str, str]]:
    """Every delivery job, both versions' streams (in no particular order across streams)."""
    entries: list[tuple[str, dict[str, str]]] = []
    for stream in [*keys.v3_outbox_streams(), keys.OUTBOX_STREAM]:
        entries += client.xrange(stream)  # type: ignore[arg-type]
    return [fields for _, fields in sorted(entries, key=lambda entry: _entry_order(entry[0]))]


def _entry_order(entry_id: str) -> tuple[int, int]:
    millis, sequence = entry_id.split("-")
    return int(millis), int(sequence)


def wrong_code(code: str) -> str:
    return "".join(str((int(digit) + 1) % 10) for digit in code)


def events(client: redis.Redis) -> list[dict[str, str]]:
    """Every status event, both versions' streams, in the order they were written."""
    entries: list[tuple[str, dict[str, str]]] = []
    for stream in [*keys.v3_events_streams(), keys.EVENTS_STREAM]:
        entries += client.xrange(stream)  # type: ignore[arg-type]
    return [fields for _, fields in sorted(entries, key=lambda entry: _entry_order(entry[0]))]


def all_keys(client: redis.Redis, match: str = "*") -> list[str]:
    """Every key matching `match`, sorted: SCAN reaches every primary of a cluster (KEYS and
    DBSIZE go to one node only)."""
    return sorted(str(key) for key in client.scan_iter(match=match, count=1000))


def record(client: redis.Redis, verification_id: str) -> packed.PackedRecord:
    """The live version-3 record of an id (its client's, the shared key's unless given)."""
    return record_of(client, verification_id, CLIENT)


def record_of(client: redis.Redis, verification_id: str, owner: str) -> packed.PackedRecord:
    raw = client.get(keys.v3_record_key(owner, keys.dest_key_of_id(verification_id)))
    assert raw is not None, f"no version-3 record for {verification_id}"
    found = packed.unpack(str(raw))
    assert found.rand == keys.rand_of_id(verification_id)
    return found


def record_key(verification_id: str, owner: str = CLIENT) -> str:
    return keys.v3_record_key(owner, keys.dest_key_of_id(verification_id))


def expire_early(client: redis.Redis, verification_id: str, owner: str = CLIENT) -> None:
    """Make a version-3 record's code TTL end now (as waiting for it would), keeping its TTL."""
    found = record_of(client, verification_id, owner)
    ended = dataclasses.replace(found, ttl=0, created_at=found.created_at - 1)
    client.set(record_key(verification_id, owner), packed.pack(ended), keepttl=True)


def dest_key(to: str, channel: str = "sms", owner: str = CLIENT) -> str:
    return crypto.dest_key(PEPPER, owner, crypto.dest_hash(PEPPER, channel, to))
