"""The users area, and its verified flags set only by the vfy:events consumer."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from devtools.components import local_spec
from devtools.processes import running
from devtools.redis_server import free_port, start_embedded
from infra.components import by_name
from monolith.crypto import Keyring
from monolith.events import EventsConsumer
from monolith.extensions import build_redis
from monolith.store import Scripts

PHONE = "+14155550100"
EMAIL = "ada@example.com"


def consumer_for(url: str, **options: Any) -> EventsConsumer:
    client = build_redis(url)
    return EventsConsumer(client=client, mark_script=Scripts.register(client).mark_verified,
                          **options)


@pytest.fixture
def run_consumer() -> Iterator[Callable[..., EventsConsumer]]:
    running: list[tuple[EventsConsumer, threading.Event, threading.Thread]] = []

    def run(url: str, **options: Any) -> EventsConsumer:
        consumer = consumer_for(url, **options)
        stop = threading.Event()
        thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
        thread.start()
        running.append((consumer, stop, thread))
        return consumer

    yield run
    for consumer, stop, thread in running:
        stop.set()
        thread.join(timeout=5)
        assert not thread.is_alive(), "the consumer did not stop"
        consumer.client.close()


def wait_for(predicate: Callable[[], bool], seconds: float) -> float:
    """Seconds it took for predicate to hold; fails after `seconds`."""
    began = time.monotonic()
    while not predicate():
        if time.monotonic() - began > seconds:
            pytest.fail(f"condition not met within {seconds}s")
        time.sleep(0.02)
    return time.monotonic() - began


def create_user(client: FlaskClient, **body: Any) -> dict[str, Any]:
    response = client.post("/api/users", json={"name": "Ada", **body})
    assert response.status_code == 201, response.get_data(as_text=True)
    user: dict[str, Any] = response.get_json()
    assert response.headers["Location"] == f"/api/users/{user['id']}"
    return user


def test_create_and_get_a_user(client: FlaskClient, redis_client: redis.Redis) -> None:
    user = create_user(client, phone=PHONE, email="Ada@Example.com")
    assert list(user) == ["id", "name", "phone", "email", "phone_verified", "email_verified",
                          "created_at"]
    assert re.fullmatch(r"US[0-9a-f]{32}", user["id"])
    assert (user["phone"], user["email"], user["phone_verified"], user["email_verified"]) == (
        PHONE, EMAIL, False, False,
    )
    assert client.get(f"/api/users/{user['id']}").get_json() == user
    phone_only = create_user(client, phone=PHONE)
    assert phone_only["email"] is None
    assert 119_000 < redis_client.pttl(f"users:{user['id']}") <= 120_000


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": "Ada"}, "phone"), ({"name": "", "phone": PHONE}, "name"),
     ({"name": "Ada", "phone": "0800"}, "phone"), ({"name": "Ada", "email": "x"}, "email"),
     ({"name": "Ada", "phone": PHONE, "role": "admin"}, "role")],
)
def test_user_validation(client: FlaskClient, body: dict[str, Any], field: str) -> None:
    response = client.post("/api/users", json=body)
    assert response.status_code == 400 and response.get_json()["field"] == field


def test_an_approval_marks_the_user_within_one_second(
    client: FlaskClient, start: Callable[..., Any], outbox_codes: Callable[[str], list[str]],
    redis_url: str, run_consumer: Callable[..., EventsConsumer],
) -> None:
    run_consumer(redis_url)
    user = create_user(client, phone=PHONE, email=EMAIL)
    other = create_user(client, phone="+14155550199")
    vid = start(to=EMAIL, channel="email").get_json()["id"]
    check = {"to": EMAIL, "code": outbox_codes(vid)[0]}
    assert client.post("/api/verification-checks", json=check).status_code == 200

    def email_verified() -> bool:
        return bool(client.get(f"/api/users/{user['id']}").get_json()["email_verified"])

    assert wait_for(email_verified, 1.0) < 1.0
    after = client.get(f"/api/users/{user['id']}").get_json()
    assert after["phone_verified"] is False  # only the channel that was approved
    assert client.get(f"/api/users/{other['id']}").get_json()["phone_verified"] is False


def test_only_approvals_mark_and_any_side_may_approve(
    client: FlaskClient, redis_client: redis.Redis, keyring: Keyring, redis_url: str,
    run_consumer: Callable[..., EventsConsumer],
) -> None:
    consumer = run_consumer(redis_url)
    user = create_user(client, phone=PHONE)
    dest_hash = keyring.dest_hash("sms", PHONE)
    event: dict[Any, Any] = {"schema": "1", "verification_id": "VE" + "1" * 32, "channel": "sms",
             "dest_hash": dest_hash, "occurred_at": "1795883589120"}
    redis_client.xadd("vfy:events", {**event, "type": "verification.canceled"})
    wait_for(lambda: consumer.handled >= 1, 1.0)
    assert client.get(f"/api/users/{user['id']}").get_json()["phone_verified"] is False
    # an approval written by the other implementation (same contract, not this app)
    redis_client.xadd("vfy:events", {**event, "type": "verification.approved"})
    redis_client.xadd("vfy:events", {**event, "type": "verification.approved"})  # twice: fine
    wait_for(lambda: consumer.handled >= 3, 1.0)
    assert client.get(f"/api/users/{user['id']}").get_json()["phone_verified"] is True
    assert redis_client.xpending("vfy:events", "monolith-users")["pending"] == 0


@pytest.mark.parametrize("schema_fields", [
    {"schema": "1"},
    {"schema": "2", "client": "tests", "reference": "order-1"},
    {"schema": "2", "client": "", "reference": ""},  # a v1 record's event, written by v2 code
], ids=["schema-1", "schema-2", "schema-2-v1-record"])
def test_approvals_of_schema_1_and_2_mark_the_user(
    client: FlaskClient, redis_client: redis.Redis, keyring: Keyring, redis_url: str,
    run_consumer: Callable[..., EventsConsumer], schema_fields: dict[str, str],
) -> None:
    consumer = run_consumer(redis_url)
    user = create_user(client, phone=PHONE)
    event: dict[Any, Any] = {**schema_fields, "type": "verification.approved",
                             "verification_id": "VE" + "3" * 32, "channel": "sms",
                             "dest_hash": keyring.dest_hash("sms", PHONE), "occurred_at": "1"}
    redis_client.xadd("vfy:events", event)
    wait_for(lambda: consumer.handled >= 1, 1.0)
    assert client.get(f"/api/users/{user['id']}").get_json()["phone_verified"] is True


def test_an_approval_of_an_unknown_schema_is_skipped(
    client: FlaskClient, redis_client: redis.Redis, keyring: Keyring, redis_url: str,
    run_consumer: Callable[..., EventsConsumer],
) -> None:
    consumer = run_consumer(redis_url)
    user = create_user(client, phone=PHONE)
    redis_client.xadd("vfy:events", {"schema": "3", "type": "verification.approved",
                                     "verification_id": "VE" + "4" * 32, "channel": "sms",
                                     "dest_hash": keyring.dest_hash("sms", PHONE),
                                     "occurred_at": "1"})
    wait_for(lambda: consumer.handled >= 1, 1.0)
    assert client.get(f"/api/users/{user['id']}").get_json()["phone_verified"] is False
    assert redis_client.xpending("vfy:events", "monolith-users")["pending"] == 0


def test_entries_of_a_dead_consumer_are_reclaimed(
    client: FlaskClient, redis_client: redis.Redis, keyring: Keyring, redis_url: str,
    run_consumer: Callable[..., EventsConsumer],
) -> None:
    user = create_user(client, phone=PHONE)
    redis_client.xgroup_create("vfy:events", "monolith-users", id="0", mkstream=True)
    redis_client.xadd("vfy:events", {"schema": "1", "type": "verification.approved",
                                     "verification_id": "VE" + "2" * 32, "channel": "sms",
                                     "dest_hash": keyring.dest_hash("sms", PHONE),
                                     "occurred_at": "1"})
    # a consumer that read the entry and died before acknowledging it
    redis_client.xreadgroup("monolith-users", "dead-consumer", {"vfy:events": ">"})
    assert redis_client.xpending("vfy:events", "monolith-users")["pending"] == 1
    run_consumer(redis_url, reclaim_idle_ms=100, reclaim_every_s=0.1)
    wait_for(lambda: client.get(f"/api/users/{user['id']}").get_json()["phone_verified"], 2.0)
    assert redis_client.xpending("vfy:events", "monolith-users")["pending"] == 0


def test_the_consumer_survives_a_redis_outage(
    run_consumer: Callable[..., EventsConsumer], keyring: Keyring
) -> None:
    port = free_port()
    server = start_embedded(port)
    consumer = run_consumer(server.url, max_backoff_s=0.2)
    direct = redis.Redis.from_url(server.url, decode_responses=True)
    try:
        wait_for(lambda: bool(direct.exists("vfy:events")), 2.0)  # the group exists
        server.stop()
        time.sleep(0.5)  # the consumer meets the outage and backs off
        server = start_embedded(port)
        dest_hash = keyring.dest_hash("sms", PHONE)
        direct.hset("users:US" + "3" * 32, mapping={"id": "US" + "3" * 32, "phone_verified": "0"})
        direct.sadd(f"users:by-dest:{dest_hash}", "US" + "3" * 32)
        direct.xadd("vfy:events", {"schema": "1", "type": "verification.approved",
                                   "verification_id": "VE" + "3" * 32, "channel": "sms",
                                   "dest_hash": dest_hash, "occurred_at": "1"})
        wait_for(lambda: direct.hget("users:US" + "3" * 32, "phone_verified") == "1", 5.0)
        assert consumer.handled == 1
    finally:
        direct.close()
        server.stop()


def test_python_m_monolith_events_stops_on_sigterm(
    redis_url: str, redis_client: redis.Redis
) -> None:
    import signal

    spec = local_spec(by_name("events"), {}, {"REDIS_URL": redis_url})
    direct = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        with running(spec) as process:
            wait_for(lambda: any(g["name"] == "monolith-users"
                                 for g in _groups(direct)), 10.0)
            process.signal(signal.SIGTERM)
            assert process.wait(timeout=5) == 0
            assert "stopped after" in process.tail()
    finally:
        direct.close()


def _groups(client: redis.Redis) -> list[dict[str, Any]]:
    try:
        groups: list[dict[str, Any]] = client.xinfo_groups("vfy:events")
        return groups
    except redis.ResponseError:
        return []
