"""The users area: its users, its verifications of a user's own destination, and the verified flags
set only by the vfy:events consumer, on the user an approval was started for."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from devtools.components import local_spec
from devtools.processes import running
from devtools.redis_cluster import local_cluster, slot_of
from devtools.redis_server import cluster_mode, free_port, start_embedded
from infra.components import by_name
from monolith import keys
from monolith.crypto import Keyring
from monolith.events import EventsConsumer
from monolith.extensions import build_redis
from monolith.store import Scripts
from monolith.streams import events_streams
from tests.support.api_keys import new_key, shared_key, write_keyring

PHONE = "+14155550100"
STREAMS = (*(keys.v3_events(bucket) for bucket in range(keys.BUCKETS)), keys.EVENTS)
EMAIL = "ada@example.com"
# A cluster holds no version-2 data: there the consumer reads the buckets only (not vfy:events).
V2_EVENTS = "version-2 events (vfy:events): a cluster has no version-2 data, its consumer reads \
the buckets only"


def consumer_for(url: str, keyring: Keyring, cluster: bool | None = None,
                 **options: Any) -> EventsConsumer:
    """The consumer as `python -m monolith.events` builds it: for the session's Redis (unless
    `cluster` says otherwise) a cluster client and the buckets only with REDIS_CLUSTER=1."""
    cluster = cluster_mode() if cluster is None else cluster
    client = build_redis(url, cluster=cluster)
    return EventsConsumer(client=client, mark_script=Scripts.register(client).mark_verified,
                          keyring=keyring, cluster=cluster, **options)


@pytest.fixture
def run_consumer(keyring: Keyring) -> Iterator[Callable[..., EventsConsumer]]:
    running: list[tuple[EventsConsumer, threading.Event, threading.Thread]] = []

    def run(url: str, **options: Any) -> EventsConsumer:
        consumer = consumer_for(url, keyring, **options)
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


def start_for(client: FlaskClient, user_id: str, channel: str = "sms",
              headers: dict[str, str] | None = None, **body: Any) -> Any:
    """POST /api/users/{id}/verifications and return the response."""
    return client.post(f"/api/users/{user_id}/verifications",
                       json={"channel": channel, **body}, headers=headers or {})


def flag(client: FlaskClient, user_id: str, name: str) -> bool:
    return bool(client.get(f"/api/users/{user_id}").get_json()[name])


def test_a_users_verification_marks_that_user_only_within_one_second(
    client: FlaskClient, outbox_codes: Callable[[str], list[str]], redis_url: str,
    run_consumer: Callable[..., EventsConsumer],
) -> None:
    run_consumer(redis_url)
    ada = create_user(client, phone=PHONE, email=EMAIL)
    same_phone = create_user(client, phone=PHONE)
    started = start_for(client, ada["id"])
    assert started.status_code == 201, started.get_data(as_text=True)
    verification = started.get_json()
    assert started.headers["Location"] == f"/api/verifications/{verification['id']}"
    assert (verification["to"], verification["channel"], verification["reference"]) == (
        PHONE, "sms", ada["id"])
    check = {"verification_id": verification["id"], "code": outbox_codes(verification["id"])[0]}
    assert client.post("/api/verification-checks", json=check).get_json()["status"] == "approved"

    assert wait_for(lambda: flag(client, ada["id"], "phone_verified"), 1.0) < 1.0
    assert flag(client, ada["id"], "email_verified") is False  # only the approved channel
    # the event that marked Ada has been handled: the other user of the phone stays unverified
    assert flag(client, same_phone["id"], "phone_verified") is False


def test_an_email_verification_checked_by_to_marks_the_user(
    client: FlaskClient, outbox_codes: Callable[[str], list[str]], redis_url: str,
    run_consumer: Callable[..., EventsConsumer],
) -> None:
    run_consumer(redis_url)
    ada = create_user(client, phone=PHONE, email="Ada@Example.com")
    started = start_for(client, ada["id"], "email", headers={"Idempotency-Key": "mail-1"})
    assert started.status_code == 201 and started.get_json()["to"] == EMAIL
    replayed = start_for(client, ada["id"], "email", headers={"Idempotency-Key": "mail-1"})
    assert replayed.status_code == 201 and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.get_json() == started.get_json()
    code = outbox_codes(started.get_json()["id"])[0]
    assert client.post("/api/verification-checks",
                       json={"to": EMAIL, "code": code}).get_json()["status"] == "approved"
    wait_for(lambda: flag(client, ada["id"], "email_verified"), 1.0)
    assert flag(client, ada["id"], "phone_verified") is False


def test_a_plain_verification_marks_nobody(
    client: FlaskClient, start: Callable[..., Any], outbox_codes: Callable[[str], list[str]],
    redis_url: str, run_consumer: Callable[..., EventsConsumer],
) -> None:
    consumer = run_consumer(redis_url)
    ada = create_user(client, phone=PHONE)
    vid = start(to=PHONE).get_json()["id"]
    check = {"to": PHONE, "code": outbox_codes(vid)[0]}
    assert client.post("/api/verification-checks", json=check).get_json()["status"] == "approved"
    wait_for(lambda: consumer.handled >= 1, 1.0)
    assert flag(client, ada["id"], "phone_verified") is False


def test_a_resend_is_200_and_the_send_limits_apply(
    make_app: Callable[..., Flask], outbox_codes: Callable[[str], list[str]]
) -> None:
    client = make_app(resend_cooldown_seconds=30).test_client()
    ada = create_user(client, phone=PHONE)
    first = start_for(client, ada["id"])
    assert first.status_code == 201
    too_soon = start_for(client, ada["id"])
    assert too_soon.status_code == 429 and too_soon.get_json()["code"] == "resend_cooldown"
    assert int(too_soon.headers["Retry-After"]) >= 29
    client = make_app(resend_cooldown_seconds=0).test_client()
    again = start_for(client, ada["id"], locale="fr")
    assert again.status_code == 200 and "Location" not in again.headers
    assert (again.get_json()["id"], again.get_json()["send_attempts"]) == (
        first.get_json()["id"], 2)
    assert len(outbox_codes(first.get_json()["id"])) == 2


def test_another_users_pending_verification_is_canceled_not_resent(
    client: FlaskClient, start: Callable[..., Any], outbox_codes: Callable[[str], list[str]],
    redis_url: str, run_consumer: Callable[..., EventsConsumer],
) -> None:
    run_consumer(redis_url)
    ada, bob = create_user(client, phone=PHONE), create_user(client, phone=PHONE)
    plain = start(to=PHONE).get_json()["id"]
    for_ada = start_for(client, ada["id"])
    assert for_ada.status_code == 201 and for_ada.get_json()["id"] != plain
    assert client.get(f"/api/verifications/{plain}").get_json()["status"] == "canceled"
    for_bob = start_for(client, bob["id"])
    assert for_bob.status_code == 201 and for_bob.get_json()["reference"] == bob["id"]
    ada_vid, bob_vid = for_ada.get_json()["id"], for_bob.get_json()["id"]
    assert client.get(f"/api/verifications/{ada_vid}").get_json()["status"] == "canceled"
    # canceled before the send: never resent, so the other user's code was not sent again
    assert (len(outbox_codes(plain)), len(outbox_codes(ada_vid))) == (1, 1)
    # Ada's code no longer approves anything; Bob's approves Bob
    stale = {"verification_id": ada_vid, "code": outbox_codes(ada_vid)[0]}
    assert client.post("/api/verification-checks", json=stale).status_code == 404
    check = {"verification_id": bob_vid, "code": outbox_codes(bob_vid)[0]}
    assert client.post("/api/verification-checks", json=check).get_json()["status"] == "approved"
    wait_for(lambda: flag(client, bob["id"], "phone_verified"), 1.0)
    assert flag(client, ada["id"], "phone_verified") is False


def test_another_users_exhausted_verification_keeps_its_budget(
    client: FlaskClient, outbox_codes: Callable[[str], list[str]]
) -> None:
    ada, bob = create_user(client, phone=PHONE), create_user(client, phone=PHONE)
    vid = start_for(client, ada["id"]).get_json()["id"]
    wrong = "".join(str((int(d) + 1) % 10) for d in outbox_codes(vid)[0])
    for _ in range(5):
        client.post("/api/verification-checks", json={"verification_id": vid, "code": wrong})
    refused = start_for(client, bob["id"])
    assert refused.status_code == 429
    assert refused.get_json()["code"] == "max_check_attempts_reached"


@pytest.mark.parametrize(("user", "body", "status", "code", "field"), [
    ("unknown", {"channel": "sms"}, 404, "not_found", None),
    ("US123", {"channel": "sms"}, 404, "not_found", None),
    ("phone-only", {"channel": "email"}, 400, "invalid_parameter", "channel"),
    ("phone-only", {"channel": "voice"}, 400, "invalid_parameter", "channel"),
    ("phone-only", {}, 400, "invalid_parameter", "channel"),
    ("phone-only", {"channel": "sms", "to": PHONE}, 400, "invalid_parameter", "to"),
    ("phone-only", {"channel": "sms", "locale": "french"}, 400, "invalid_parameter", "locale"),
    ("toll-free", {"channel": "sms"}, 400, "unsupported_number_type", "phone"),
    ("brazil", {"channel": "sms"}, 403, "geo_not_permitted", "phone"),
])
def test_user_verification_refusals(
    client: FlaskClient, redis_client: redis.Redis, user: str, body: dict[str, Any],
    status: int, code: str, field: str | None,
) -> None:
    phones = {"phone-only": PHONE, "toll-free": "+18002345678", "brazil": "+5511987654321"}
    user_id = {"unknown": "US" + "0" * 32, "US123": "US123"}.get(user)
    if user_id is None:
        user_id = create_user(client, phone=phones[user])["id"]
    response = client.post(f"/api/users/{user_id}/verifications", json=body)
    assert response.status_code == status, response.get_data(as_text=True)
    assert (response.get_json()["code"], response.get_json().get("field")) == (code, field)
    assert redis_client.keys("vfy:*") == []  # a refused request touches no counter


def test_user_verifications_need_a_key_with_the_send_scope(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    check_only = new_key(scopes=("check",))
    app = make_app(keyring_file=str(write_keyring(tmp_path / "keyring.json", shared_key(),
                                                  check_only)))
    ada = create_user(app.test_client(), phone=PHONE)
    bare = FlaskClient(app)
    missing = bare.post(f"/api/users/{ada['id']}/verifications", json={"channel": "sms"})
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    unknown_user = bare.post("/api/users/US123/verifications", json={"channel": "sms"})
    assert unknown_user.status_code == 401  # the key first: no one learns which users exist
    forbidden = bare.post(f"/api/users/{ada['id']}/verifications", json={"channel": "sms"},
                          headers=check_only.authorization)
    assert forbidden.status_code == 403 and forbidden.get_json()["code"] == "forbidden"


def approval(keyring: Keyring, user_id: str, to: str = PHONE, **fields: str) -> dict[Any, Any]:
    """A verification.approved entry as either side writes it (schema 2), for `user_id`."""
    return {"schema": "2", "type": "verification.approved", "verification_id": "VE" + "1" * 32,
            "channel": "sms", "dest_hash": keyring.dest_hash("sms", to), "client": "tests",
            "reference": user_id, "occurred_at": "1795883589120", **fields}


def session_approval(keyring: Keyring, user_id: str, **fields: str) -> tuple[str, dict[Any, Any]]:
    """The stream and entry of an approval the other implementation would write on the session's
    Redis: schema 2 on vfy:events on a node (version-2 data can exist there), schema 3 on its
    bucket on a cluster (the only form there)."""
    if cluster_mode():
        event = approval_v3(keyring, user_id, **fields)
        return bucket_of(event), event
    return keys.EVENTS, approval(keyring, user_id, **fields)


def test_only_approvals_mark_and_any_side_may_approve(
    client: FlaskClient, redis_client: redis.Redis, keyring: Keyring, redis_url: str,
    run_consumer: Callable[..., EventsConsumer],
) -> None:
    consumer = run_consumer(redis_url)
    user = create_user(client, phone=PHONE)
    stream, canceled = session_approval(keyring, user["id"], type="verification.canceled")
    redis_client.xadd(stream, canceled)
    wait_for(lambda: consumer.handled >= 1, 1.0)
    assert flag(client, user["id"], "phone_verified") is False
    # an approval written by the other implementation (same contract, not this app)
    stream, approved = session_approval(keyring, user["id"])
    redis_client.xadd(stream, approved)
    redis_client.xadd(stream, approved)  # twice: fine
    wait_for(lambda: consumer.handled >= 3, 1.0)
    assert flag(client, user["id"], "phone_verified") is True
    assert redis_client.xpending(stream, "monolith-users")["pending"] == 0


@pytest.mark.single_node(f"{V2_EVENTS}; test_version_3_approvals_that_mark_nobody is its form "
                         "on the buckets")
@pytest.mark.parametrize("fields", [
    {"schema": "1", "client": "", "reference": ""},  # no reference: a plain verification
    {"reference": ""},
    {"reference": "order-1"},
    {"dest_hash_of": "+14155550199"},  # the user's id, another destination
    {"channel": "email"},  # the phone's hash, but an email approval
    {"reference": "US" + "9" * 32},  # another (unknown) user
], ids=["schema-1", "no-reference", "not-a-user", "other-destination", "other-channel",
        "unknown-user"])
def test_approvals_that_mark_nobody(
    client: FlaskClient, redis_client: redis.Redis, keyring: Keyring, redis_url: str,
    run_consumer: Callable[..., EventsConsumer], fields: dict[str, str],
) -> None:
    consumer = run_consumer(redis_url)
    user = create_user(client, phone=PHONE, email=EMAIL)
    to = fields.pop("dest_hash_of", PHONE)
    event = approval(keyring, user["id"], to, **fields)
    if fields.get("schema") == "1":
        del event["client"], event["reference"]
    redis_client.xadd("vfy:events", event)
    wait_for(lambda: consumer.handled >= 1, 1.0)
    after = client.get(f"/api/users/{user['id']}").get_json()
    assert (after["phone_verified"], after["email_verified"]) == (False, False)
    assert not redis_client.exists("users:US" + "9" * 32)  # never creates a user hash


def test_an_approval_of_an_unknown_schema_is_skipped(
    client: FlaskClient, redis_client: redis.Redis, keyring: Keyring, redis_url: str,
    run_consumer: Callable[..., EventsConsumer],
) -> None:
    consumer = run_consumer(redis_url)
    user = create_user(client, phone=PHONE)
    v3 = approval_v3(keyring, user["id"], schema="9")
    # schema-2 entries where the consumer reads them: vfy:events on a node, a bucket on a cluster
    v2_stream = bucket_of(v3) if cluster_mode() else keys.EVENTS
    redis_client.xadd(v2_stream, approval(keyring, user["id"], schema="4"))
    # schema 1 is no longer read (version 1 has expired): skipped like any other
    redis_client.xadd(v2_stream, approval(keyring, user["id"], schema="1"))
    redis_client.xadd(bucket_of(v3), v3)
    wait_for(lambda: consumer.handled >= 3, 1.0)
    assert flag(client, user["id"], "phone_verified") is False
    assert redis_client.xpending(v2_stream, "monolith-users")["pending"] == 0
    assert redis_client.xpending(bucket_of(v3), "monolith-users")["pending"] == 0


def approval_v3(keyring: Keyring, user_id: str, to: str = PHONE, channel: str = "sms",
                client: str = "tests", **fields: str) -> dict[Any, Any]:
    """A verification.approved entry of a version-3 record (schema 3): `dest_key`, bound to the
    event's client, instead of `dest_hash`."""
    dest_key = keyring.dest_key(client, keyring.dest_hash(channel, to))
    return {"schema": "3", "type": "verification.approved",
            "verification_id": "VE" + dest_key + "1" * 16, "channel": channel,
            "dest_key": dest_key, "client": client, "reference": user_id,
            "occurred_at": "1795883589120", **fields}


def bucket_of(event: dict[Any, Any]) -> str:
    """The events stream of the event's bucket: the one its id's dest_key gives."""
    return keys.v3_events(keys.bucket(str(event["verification_id"])[2:18]))


def test_version_3_approvals_on_every_bucket_mark_their_users(
    client: FlaskClient, redis_client: redis.Redis, keyring: Keyring, redis_url: str,
    run_consumer: Callable[..., EventsConsumer],
) -> None:
    consumer = run_consumer(redis_url)
    cluster = cluster_mode()
    streams = events_streams(cluster)  # a cluster's consumer reads no vfy:events
    assert (keys.EVENTS in streams) is not cluster
    # every stream made with its group, then given the contract's TTL
    wait_for(lambda: all(0 < redis_client.pttl(stream) <= keys.STREAM_TTL_MS
                         for stream in streams), 2.0)
    for stream in streams:
        assert [g["name"] for g in redis_client.xinfo_groups(stream)] == ["monolith-users"]
    users = [create_user(client, phone=f"+1415555{n:04d}", email=f"u{n}@example.com")
             for n in range(24)]
    events = [approval_v3(keyring, user["id"], user["phone"]) if n % 2 else
              approval_v3(keyring, user["id"], user["email"], "email", client="other-client")
              for n, user in enumerate(users)]
    assert len({bucket_of(event) for event in events}) >= 12
    for event in events:
        redis_client.xadd(bucket_of(event), event)
    if not cluster:  # and the version-2 stream beside them
        redis_client.xadd(keys.EVENTS, approval(keyring, users[0]["id"], users[0]["phone"]))
    wait_for(lambda: consumer.handled >= len(events) + (not cluster), 2.0)
    for n, user in enumerate(users):
        after = client.get(f"/api/users/{user['id']}").get_json()
        assert (after["phone_verified"], after["email_verified"]) == (
            n % 2 == 1 or (n == 0 and not cluster), n % 2 == 0)
    assert not any(redis_client.xpending(stream, "monolith-users")["pending"]
                   for stream in streams)


@pytest.mark.parametrize("change", [
    {"client": "another-client"},  # the dest_key is bound to its client: not this one's
    {"to": "+14155550199"},  # another destination
    {"channel": "email"},  # the phone's dest_key, but an email approval
    {"reference": "order-1"},
    {"drop": "dest_key"},
    {"dest_hash": "set"},  # a schema-3 event is matched by dest_key only
], ids=["other-client", "other-destination", "other-channel", "not-a-user", "no-dest-key",
        "dest-hash-ignored"])
def test_version_3_approvals_that_mark_nobody(
    client: FlaskClient, redis_client: redis.Redis, keyring: Keyring, redis_url: str,
    run_consumer: Callable[..., EventsConsumer], change: dict[str, str],
) -> None:
    consumer = run_consumer(redis_url)
    user = create_user(client, phone=PHONE, email=EMAIL)
    event = approval_v3(keyring, user["id"], change.get("to", PHONE))
    if "client" in change:  # the dest_key another client would have
        event["dest_key"] = keyring.dest_key(change["client"], keyring.dest_hash("sms", PHONE))
    for name in ("channel", "reference"):
        if name in change:
            event[name] = change[name]
    if "drop" in change:
        del event[change["drop"]]
    if "dest_hash" in change:
        event["dest_key"] = "0" * 16
        event["dest_hash"] = keyring.dest_hash("sms", PHONE)
    redis_client.xadd(bucket_of(approval_v3(keyring, user["id"])), event)
    wait_for(lambda: consumer.handled >= 1, 1.0)
    after = client.get(f"/api/users/{user['id']}").get_json()
    assert (after["phone_verified"], after["email_verified"]) == (False, False)


def test_a_bucket_that_expired_with_its_group_is_consumed_again(
    client: FlaskClient, redis_client: redis.Redis, keyring: Keyring, redis_url: str,
    run_consumer: Callable[..., EventsConsumer],
) -> None:
    consumer = run_consumer(redis_url, block_ms=100)
    user = create_user(client, phone=PHONE, email=EMAIL)
    event = approval_v3(keyring, user["id"])
    wait_for(lambda: bool(redis_client.exists(bucket_of(event))), 2.0)
    redis_client.delete(bucket_of(event))  # idle 7 days: gone, its group with it
    time.sleep(0.3)
    redis_client.xadd(bucket_of(event), event)
    wait_for(lambda: flag(client, user["id"], "phone_verified"), 2.0)
    assert consumer.handled == 1


def test_entries_of_a_dead_consumer_on_a_bucket_are_reclaimed(
    client: FlaskClient, redis_client: redis.Redis, keyring: Keyring, redis_url: str,
    run_consumer: Callable[..., EventsConsumer],
) -> None:
    user = create_user(client, phone=PHONE)
    event = approval_v3(keyring, user["id"])
    stream = bucket_of(event)
    redis_client.xgroup_create(stream, "monolith-users", id="0", mkstream=True)
    redis_client.xadd(stream, event)
    redis_client.xreadgroup("monolith-users", "dead-consumer", {stream: ">"})
    assert redis_client.xpending(stream, "monolith-users")["pending"] == 1
    run_consumer(redis_url, reclaim_idle_ms=100, reclaim_every_s=0.1)
    wait_for(lambda: flag(client, user["id"], "phone_verified"), 2.0)
    assert redis_client.xpending(stream, "monolith-users")["pending"] == 0


@pytest.mark.single_node(f"{V2_EVENTS}; test_entries_of_a_dead_consumer_on_a_bucket_are_reclaimed "
                         "is its form on the buckets")
def test_entries_of_a_dead_consumer_are_reclaimed(
    client: FlaskClient, redis_client: redis.Redis, keyring: Keyring, redis_url: str,
    run_consumer: Callable[..., EventsConsumer],
) -> None:
    user = create_user(client, phone=PHONE)
    redis_client.xgroup_create("vfy:events", "monolith-users", id="0", mkstream=True)
    redis_client.xadd("vfy:events", approval(keyring, user["id"]))
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
    consumer = run_consumer(server.url, cluster=False, max_backoff_s=0.2)  # its own node
    direct = redis.Redis.from_url(server.url, decode_responses=True)
    try:
        wait_for(lambda: bool(direct.exists("vfy:events")), 2.0)  # the group exists
        server.stop()
        time.sleep(0.5)  # the consumer meets the outage and backs off
        server = start_embedded(port)
        direct.hset("users:US" + "3" * 32,
                    mapping={"id": "US" + "3" * 32, "phone": PHONE, "phone_verified": "0"})
        direct.xadd("vfy:events", approval(keyring, "US" + "3" * 32))
        wait_for(lambda: direct.hget("users:US" + "3" * 32, "phone_verified") == "1", 5.0)
        assert consumer.handled == 1
    finally:
        direct.close()
        server.stop()


def test_python_m_monolith_events_stops_on_sigterm(
    redis_url: str, redis_client: redis.Redis
) -> None:
    import signal

    env = {"REDIS_URL": redis_url, "REDIS_CLUSTER": "1" if cluster_mode() else ""}
    spec = local_spec(by_name("events"), {}, env)
    with running(spec) as process:
        # the last stream it creates its group on (a bucket: read on a node and on a cluster)
        last = events_streams(cluster_mode())[keys.BUCKETS - 1]
        wait_for(lambda: any(g["name"] == "monolith-users"
                             for g in _groups(redis_client, last)), 10.0)
        process.signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
        assert "stopped after" in process.tail()


def _groups(client: redis.Redis, stream: str) -> list[dict[str, Any]]:
    try:
        groups: list[dict[str, Any]] = client.xinfo_groups(stream)
        return groups
    except redis.ResponseError:
        return []


def test_on_a_cluster_the_buckets_are_polled_and_vfy_events_is_not_read(
    keyring: Keyring,
) -> None:
    user_id = "US" + "4" * 32
    with local_cluster(primaries=3) as cluster:
        direct = cluster.client()
        direct.hset(keys.user(user_id), mapping={"id": user_id, "phone": PHONE,
                                                 "phone_verified": "0"})
        events = [approval_v3(keyring, user_id), approval_v3(keyring, "US" + "5" * 32,
                                                             "+14155550111")]
        for event in events:
            direct.xadd(bucket_of(event), event)
        # The consumer takes a cluster client (the monolith's own is built elsewhere).
        consumer = EventsConsumer(
            client=direct,  # type: ignore[arg-type]
            mark_script=Scripts.register(direct).mark_verified,
            keyring=keyring, cluster=True, block_ms=100,
        )
        stop = threading.Event()
        thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
        thread.start()
        try:
            wait_for(lambda: direct.hget(keys.user(user_id), "phone_verified") == "1", 5.0)
            wait_for(lambda: consumer.handled == 2, 2.0)
            late = approval_v3(keyring, user_id, channel="email", to=EMAIL)
            direct.hset(keys.user(user_id), "email", EMAIL)
            direct.xadd(bucket_of(late), late)  # while it polls empty buckets
            wait_for(lambda: direct.hget(keys.user(user_id), "email_verified") == "1", 2.0)
        finally:
            stop.set()
            thread.join(timeout=5)
        assert not thread.is_alive()
        buckets = STREAMS[:-1]
        assert direct.exists(keys.EVENTS) == 0  # no version-2 data in a cluster: not read
        for stream in buckets:
            assert 0 < direct.pttl(stream) <= keys.STREAM_TTL_MS
        assert not any(direct.xpending(stream, "monolith-users")["pending"] for stream in buckets)


def test_on_a_cluster_a_bucket_whose_slot_moved_is_still_consumed(keyring: Keyring) -> None:
    """The consumer sends each bucket's read to the node its slot map names; once the slot has
    moved (MOVED), the read follows it and the bucket's events still mark their users."""
    user_id = "US" + "6" * 32
    event = approval_v3(keyring, user_id)
    bucket = bucket_of(event)
    with local_cluster(primaries=3) as cluster:
        direct = cluster.client()
        direct.hset(keys.user(user_id), mapping={"id": user_id, "phone": PHONE, "email": EMAIL,
                                                 "phone_verified": "0", "email_verified": "0"})
        consumer = consumer_for(cluster.url, keyring, cluster=True, block_ms=100)
        stop = threading.Event()
        thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
        thread.start()
        try:
            wait_for(lambda: bool(direct.exists(bucket)), 5.0)  # its groups made
            slot = slot_of(bucket)
            owner = cluster.owner(slot)
            cluster.migrate_slot(slot, next(n for n in cluster.primaries if n is not owner))
            direct.xadd(bucket, event)
            wait_for(lambda: direct.hget(keys.user(user_id), "phone_verified") == "1", 5.0)
            late = approval_v3(keyring, user_id, channel="email", to=EMAIL)
            direct.xadd(bucket_of(late), late)
            wait_for(lambda: direct.hget(keys.user(user_id), "email_verified") == "1", 5.0)
        finally:
            stop.set()
            thread.join(timeout=5)
            consumer.client.close()
        assert not thread.is_alive()
        assert consumer.handled == 2
        assert direct.xpending(bucket, "monolith-users")["pending"] == 0
