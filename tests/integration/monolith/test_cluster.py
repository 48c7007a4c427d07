"""The monolith on a real local Redis Cluster (REDIS_CLUSTER=1, docs/storage-contract.md "Cluster
mode"): every script in one slot, the counters of other slots reserved before the send and
refunded after a refusal, the Idempotency-Key claimed with an in-progress marker.

The app's client is a redis.cluster.RedisCluster: monolith.extensions.build_redis is replaced for
these tests (until it has a cluster branch of its own, another change)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import redis.cluster
from flask import Flask
from flask.testing import FlaskClient

from devtools.redis_cluster import LocalCluster, local_cluster
from monolith import create_app, keys, packed
from monolith.crypto import Keyring
from monolith.settings import Settings
from tests.integration.monolith.conftest import PHONE, KeyedClient

SEND = "/api/verifications"
CHECK = "/api/verification-checks"
OTHER_PREFIX_PHONE = "+14155560100"


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with local_cluster(primaries=3) as running:
        yield running


@pytest.fixture
def admin(cluster: LocalCluster) -> redis.cluster.RedisCluster:
    """A cluster client of the test's own; every primary flushed first."""
    client = cluster.client()
    client.flushall(target_nodes=redis.cluster.RedisCluster.PRIMARIES)
    return client


@pytest.fixture
def cluster_app(
    cluster: LocalCluster, admin: redis.cluster.RedisCluster, settings: Settings,
) -> Callable[..., FlaskClient]:
    """The app as production builds it with REDIS_CLUSTER=1: its own cluster client."""

    def build(**overrides: Any) -> FlaskClient:
        app: Flask = create_app(dataclasses.replace(
            settings, redis_url=cluster.url, redis_cluster=True, **overrides))
        app.config["TESTING"] = True
        app.test_client_class = KeyedClient
        return app.test_client()

    return build


def codes(admin: redis.cluster.RedisCluster, keyring: Keyring, vid: str) -> list[str]:
    """The codes of every job of a verification, from its bucket's outbox (v3 seals)."""
    entries: Any = admin.xrange(keys.v3_outbox(keys.bucket(vid[2:18])))
    return [keyring.open_seal_v3(vid, job["code_sealed"]) for _id, job in entries
            if job["verification_id"] == vid]


def send(client: FlaskClient, to: str = PHONE, headers: dict[str, str] | None = None,
         **body: Any) -> Any:
    return client.post(SEND, json={"to": to, "channel": "sms", **body}, headers=headers or {})


def test_send_check_cancel_and_read_on_a_cluster(
    cluster_app: Callable[..., FlaskClient], admin: redis.cluster.RedisCluster,
    keyring: Keyring,
) -> None:
    client = cluster_app(storage_write_version=2)  # ignored in a cluster: only v3 is written
    created = send(client, reference="order-1")
    assert created.status_code == 201
    vid = created.get_json()["id"]
    dest_key = keyring.dest_key("tests", keyring.dest_hash("sms", PHONE))
    assert vid[2:18] == dest_key
    record = packed.unpack(str(admin.get(keys.v3_record("tests", dest_key))))
    assert (record.rand, record.status, record.reference) == (vid[18:], "pending", "order-1")
    jobs: Any = admin.xrange(keys.v3_outbox(keys.bucket(dest_key)))
    [job] = jobs
    assert job[1]["client"] == "tests" and job[1]["send_attempt"] == "1"
    assert not admin.exists(keys.OUTBOX, f"vfy:ver:{vid}")

    resent = send(client)
    assert resent.status_code == 200 and resent.get_json()["send_attempts"] == 2
    [code, again] = codes(admin, keyring, vid)
    assert code == again
    wrong = client.post(CHECK, json={"verification_id": vid, "code": "000000"})
    assert wrong.get_json()["status"] == "pending"
    assert admin.get(keys.v3_failed_checks("tests", dest_key)) == "1"
    approved = client.post(CHECK, json={"to": PHONE, "code": code})
    assert approved.get_json()["status"] == "approved" and approved.get_json()["valid"]
    tally: dict[str, str] = admin.hgetall(keys.tally(keyring.prefix_hash(PHONE)))  # type: ignore[assignment]
    assert sum(int(v) for k, v in tally.items() if k.startswith("a:")) == 1
    assert sum(int(v) for k, v in tally.items() if k.startswith("s:")) == 1  # the resend: none
    events: Any = admin.xrange(keys.v3_events(keys.bucket(dest_key)))
    [(_id, event)] = events
    assert (event["schema"], event["type"], event["dest_key"]) == (
        "3", "verification.approved", dest_key)
    assert client.get(f"{SEND}/{vid}").get_json()["status"] == "approved"

    second = send(client).get_json()["id"]  # the approved one is retained, still readable
    assert second != vid and client.get(f"{SEND}/{vid}").get_json()["status"] == "approved"
    assert client.post(f"{SEND}/{vid}/cancel").status_code == 409
    canceled = client.post(f"{SEND}/{second}/cancel")
    assert canceled.status_code == 200 and canceled.get_json()["status"] == "canceled"
    assert client.post(f"{SEND}/{second}/cancel").status_code == 409
    assert client.get(f"{SEND}/VE{dest_key}{'0' * 16}").status_code == 404
    assert client.post(CHECK, json={"to": PHONE, "code": code}).status_code == 404
    assert client.get("/readyz").status_code == 200


def test_a_refusal_refunds_every_reservation_and_a_resend_the_tallys(
    cluster_app: Callable[..., FlaskClient], admin: redis.cluster.RedisCluster,
    keyring: Keyring,
) -> None:
    client = cluster_app(sms_global_limit=2)
    assert send(client).status_code == 201
    assert send(client, OTHER_PREFIX_PHONE).status_code == 201
    refused = send(client, "+14155570100")  # a third prefix: only the circuit breaker is full
    assert refused.status_code == 429 and refused.get_json()["code"] == "sms_capacity_exceeded"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    third = "+14155570100"
    assert admin.get(keys.dest_limit(keyring.dest_hash("sms", third))) == "0"  # refunded
    assert admin.get(keys.client_limit("tests")) == "2"
    assert admin.get(keys.ip_limit(keyring.ip_hash("127.0.0.1"))) == "2"
    third_tally: dict[str, str] = admin.hgetall(keys.tally(keyring.prefix_hash(third)))  # type: ignore[assignment]
    assert [int(v) for k, v in third_tally.items() if k.startswith("s:")] == [0]
    assert admin.get(keys.prefix_limit(keyring.prefix_hash(third))) == "0"
    assert admin.get(keys.SMS_LIMIT) == "2"

    # a refusal the send script makes in its own slot (the cooldown) refunds the reserves too
    cool = cluster_app(resend_cooldown_seconds=30)
    refused = send(cool)
    assert refused.status_code == 429 and refused.get_json()["code"] == "resend_cooldown"
    assert admin.get(keys.client_limit("tests")) == "2"
    assert admin.get(keys.dest_limit(keyring.dest_hash("sms", PHONE))) == "1"

    # a resend counts the limits but not the conversion tally (not a new verification)
    bigger = cluster_app(sms_global_limit=10)
    assert send(bigger).status_code == 200
    assert admin.get(keys.client_limit("tests")) == "3"
    tally: dict[str, str] = admin.hgetall(keys.tally(keyring.prefix_hash(PHONE)))  # type: ignore[assignment]
    assert sum(int(v) for k, v in tally.items() if k.startswith("s:")) == 1


def test_a_blocked_prefix_is_a_tally_field(
    cluster_app: Callable[..., FlaskClient], admin: redis.cluster.RedisCluster,
    keyring: Keyring,
) -> None:
    client = cluster_app(prefix_guard_min_sms=2, prefix_guard_min_approved_percent=50,
                         prefix_guard_block_seconds=120)
    assert send(client, "+14155550100").status_code == 201
    assert send(client, "+14155550101").status_code == 201
    blocked = send(client, "+14155550102")
    assert blocked.status_code == 429 and blocked.get_json()["code"] == "prefix_blocked"
    assert 119 <= int(blocked.headers["Retry-After"]) <= 120
    tally_key = keys.tally(keyring.prefix_hash(PHONE))
    assert admin.hexists(tally_key, keys.TALLY_BLOCK_FIELD)
    assert not admin.exists(keys.prefix_block(keyring.prefix_hash(PHONE)))  # no v2 key here
    assert admin.get(keys.client_limit("tests")) == "2"  # the reserves before it: refunded


def test_idempotency_replay_reuse_and_in_progress(
    cluster_app: Callable[..., FlaskClient], admin: redis.cluster.RedisCluster,
    keyring: Keyring,
) -> None:
    client = cluster_app()
    first = send(client, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201
    replay = send(client, headers={"Idempotency-Key": "k-1"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_data() == first.get_data()
    stored = json.loads(str(admin.get(keys.idempotency(keyring.idem_hash("tests", "k-1")))))
    assert stored["status"] == 201 and "in_progress" not in stored
    reused = client.post(SEND, json={"to": OTHER_PREFIX_PHONE, "channel": "sms"},
                         headers={"Idempotency-Key": "k-1"})
    assert reused.status_code == 422 and reused.get_json()["code"] == "idempotency_key_reused"

    marker = keys.idempotency(keyring.idem_hash("tests", "k-2"))
    # another request with this key and body is running (it holds the claim)
    body = {"to": OTHER_PREFIX_PHONE, "channel": "sms"}
    running = keyring.request_hash("POST", SEND, body)
    admin.set(marker, json.dumps({"request_hash": running, "in_progress": True}), px=30_000)
    busy = send(client, OTHER_PREFIX_PHONE, headers={"Idempotency-Key": "k-2"})
    assert busy.status_code == 409 and busy.get_json()["code"] == "idempotency_key_in_use"
    assert busy.headers["Retry-After"] == "1"
    # ... with this key and another body: reused, as a stored result would answer
    other = client.post(SEND, json={"to": PHONE, "channel": "sms"},
                        headers={"Idempotency-Key": "k-2"})
    assert other.status_code == 422 and other.get_json()["code"] == "idempotency_key_reused"
    assert admin.get(keys.client_limit("tests")) == "1"  # nothing reserved

    # a refused send frees its key: a 429 may be retried with the same key
    limited = cluster_app(client_send_limit=1)
    refused = send(limited, OTHER_PREFIX_PHONE, headers={"Idempotency-Key": "k-3"})
    assert refused.status_code == 429
    assert not admin.exists(keys.idempotency(keyring.idem_hash("tests", "k-3")))
    later = cluster_app()
    assert send(later, OTHER_PREFIX_PHONE, headers={"Idempotency-Key": "k-3"}).status_code == 201


@pytest.mark.parametrize("error", [
    redis.exceptions.ClusterDownError("CLUSTERDOWN The cluster is down"),
    redis.exceptions.TryAgainError("TRYAGAIN"),
    redis.exceptions.MovedError("3999 127.0.0.1:6381"),
    redis.exceptions.AskError("3999 127.0.0.1:6381"),
    redis.exceptions.SlotNotCoveredError("slot 3999 is not covered"),
    redis.exceptions.ConnectionError("node down"),
])
def test_cluster_errors_answer_503_with_retry_after(
    cluster_app: Callable[..., FlaskClient], monkeypatch: pytest.MonkeyPatch,
    error: Exception,
) -> None:
    """What the client's own retries did not absorb (faults on a real cluster: tests/faults/)."""
    client = cluster_app()

    def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(redis.cluster.RedisCluster, "evalsha", fail)
    answer = send(client)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    assert answer.get_json()["code"] == "service_unavailable"


def test_the_users_area_cancels_another_verification_and_starts_its_own(
    cluster_app: Callable[..., FlaskClient], admin: redis.cluster.RedisCluster,
) -> None:
    client = cluster_app()
    user = client.post("/api/users", json={"name": "Ada", "phone": PHONE}).get_json()
    plain = send(client).get_json()["id"]
    started = client.post(f"/api/users/{user['id']}/verifications", json={"channel": "sms"},
                          headers={"Idempotency-Key": "u-1"})
    assert started.status_code == 201, started.get_json()
    assert started.get_json()["reference"] == user["id"] and started.get_json()["id"] != plain
    assert client.get(f"{SEND}/{plain}").get_json()["status"] == "canceled"  # retained
    replayed = client.post(f"/api/users/{user['id']}/verifications", json={"channel": "sms"},
                           headers={"Idempotency-Key": "u-1"})
    assert replayed.get_data() == started.get_data()
