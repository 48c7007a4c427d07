"""Contract v3 "Cluster mode" on the services, against a real local Redis Cluster (3 primaries):
every script runs in one slot (a cross-slot script would fail), the counters outside the
destination's slot are reserved before the send and refunded after a refusal, and the
Idempotency-Key is claimed first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import pytest
import redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import (
    AskError,
    ClusterDownError,
    ClusterError,
    MasterDownError,
    MovedError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError

from devtools.redis_cluster import LocalCluster, local_cluster
from services.verification import crypto, keys
from services.verification.settings import Settings
from services.web.factory import RedisFactory
from tests.integration.services.support import (
    CLIENT,
    CLIENT_IP,
    PEPPER,
    PHONE,
    Api,
    dest_key,
    events,
    make_settings,
    record,
    running_api,
    wrong_code,
)

DEST_HASH = crypto.dest_hash(PEPPER, "sms", PHONE)
PREFIX_HASH = crypto.prefix_hash(PEPPER, PHONE)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with local_cluster(primaries=3) as running:
        yield running


def cluster_redis(cluster: LocalCluster) -> RedisFactory:
    def connect(settings: Settings) -> Any:
        return RedisCluster.from_url(settings.redis_url, decode_responses=True)

    return cast(RedisFactory, connect)


def sync_client(cluster: LocalCluster) -> redis.Redis:
    """The tests' view of the cluster (a sync cluster client, used as Api.redis is)."""
    return cast(redis.Redis, cluster.client())


@pytest.fixture
async def api(cluster: LocalCluster) -> AsyncIterator[Api]:
    client = sync_client(cluster)
    client.flushdb()  # every primary
    settings = make_settings(cluster.url, redis_cluster=True, resend_cooldown_seconds=0,
                             max_sends=20)
    async with running_api(client, settings, redis_factory=cluster_redis(cluster)) as running:
        yield running


def counters(api: Api) -> dict[str, Any]:
    r = api.redis
    return {
        "dest": r.get(keys.dest_limit_key(DEST_HASH)),
        "client": r.get(keys.client_limit_key(CLIENT)),
        "ip": r.get(keys.ip_limit_key(crypto.ip_hash(PEPPER, CLIENT_IP))),
        "prefix": r.get(keys.prefix_limit_key(PREFIX_HASH)),
        "sms": r.get(keys.SMS_LIMIT_KEY),
    }


def sent_tally(api: Api) -> int:
    fields: dict[str, str] = api.redis.hgetall(keys.tally_key(PREFIX_HASH))  # type: ignore[assignment]
    return sum(int(v) for f, v in fields.items() if f.startswith(keys.TALLY_SENT_FIELD_PREFIX))


async def test_send_check_cancel_and_read(api: Api) -> None:
    created = await api.start()
    assert created.status_code == 201
    vid = created.json()["id"]
    assert keys.dest_key_of_id(vid) == dest_key(PHONE)
    assert record(api.redis, vid).status == "pending"
    code = api.code_for(vid)  # from the bucket's outbox
    wrong = await api.check(wrong_code(code), verification_id=vid)
    assert (wrong.status_code, wrong.json()["status"]) == (200, "pending")
    assert api.redis.get(keys.v3_failed_checks_key(CLIENT, dest_key(PHONE))) == "1"
    approved = await api.check(code, to=PHONE)
    assert approved.json()["status"] == "approved"
    tally: dict[str, str] = api.redis.hgetall(keys.tally_key(PREFIX_HASH))  # type: ignore[assignment]
    assert [v for f, v in tally.items() if f.startswith(keys.TALLY_APPROVED_FIELD_PREFIX)] == ["1"]
    read = await api.send.get(f"/api/verifications/{vid}")
    assert (read.status_code, read.json()["status"], read.json()["check_attempts"]) == (
        200, "approved", 2)
    assert [e["type"] for e in events(api.redis)] == ["verification.approved"]

    other = (await api.start("+14155550177")).json()["id"]
    canceled = await api.send.post(f"/api/verifications/{other}/cancel")
    assert (canceled.status_code, canceled.json()["status"]) == (200, "canceled")
    again = await api.send.post(f"/api/verifications/{other}/cancel")
    assert (again.status_code, again.json()["code"]) == (409, "not_pending")
    missing = "VE" + dest_key("+14155550188") + "0" * 16
    assert (await api.send.get(f"/api/verifications/{missing}")).status_code == 404
    assert (await api.send.post(f"/api/verifications/{missing}/cancel")).status_code == 404
    assert (await api.check("123456", verification_id=missing)).status_code == 404
    # No version-2 key is ever written in a cluster.
    assert not list(api.redis.scan_iter("vfy:ver:*"))  # scans every primary
    assert not list(api.redis.scan_iter("vfy:pending:*"))

    # A new send after the approval retains the approved record, still readable by its id.
    fresh = await api.start()
    assert fresh.status_code == 201
    assert (await api.send.get(f"/api/verifications/{vid}")).json()["status"] == "approved"


async def test_the_destination_limit_refuses_the_11th_send_and_refunds_it(api: Api) -> None:
    first = await api.start()
    assert first.status_code == 201
    for _ in range(9):
        assert (await api.start()).status_code == 200  # resends count toward the limits
    assert counters(api) == dict.fromkeys(("dest", "client", "ip", "prefix", "sms"), "10")
    assert sent_tally(api) == 1  # a resend is not a new verification: its tally reserve went back
    refused = await api.start()
    assert (refused.status_code, refused.json()["code"]) == (429, "rate_limited")
    assert 3590 < int(refused.headers["Retry-After"]) <= 3600
    # The refused send's reservations were refunded: every counter still says 10.
    assert counters(api) == dict.fromkeys(("dest", "client", "ip", "prefix", "sms"), "10")
    assert sent_tally(api) == 1
    assert record(api.redis, first.json()["id"]).send_attempts == 10
    # Another destination is free.
    assert (await api.start("+14155550177")).status_code == 201


async def test_a_refusal_in_the_destination_slot_refunds_every_reservation(
    cluster: LocalCluster,
) -> None:
    client = sync_client(cluster)
    client.flushdb()
    settings = make_settings(cluster.url, redis_cluster=True)  # the 30 s resend cooldown
    async with running_api(client, settings, redis_factory=cluster_redis(cluster)) as api:
        assert (await api.start()).status_code == 201
        cooling = await api.start()
        assert (cooling.status_code, cooling.json()["code"]) == (429, "resend_cooldown")
        assert counters(api) == dict.fromkeys(("dest", "client", "ip", "prefix", "sms"), "1")
        assert sent_tally(api) == 1


async def test_an_sms_guard_refusal_refunds_the_other_reservations(
    cluster: LocalCluster,
) -> None:
    client = sync_client(cluster)
    client.flushdb()
    settings = make_settings(cluster.url, redis_cluster=True, sms_global_limit=2)
    async with running_api(client, settings, redis_factory=cluster_redis(cluster)) as api:
        assert (await api.start("+14155550101")).status_code == 201
        assert (await api.start("+14155550102")).status_code == 201
        refused = await api.start()
        assert (refused.status_code, refused.json()["code"]) == (429, "sms_capacity_exceeded")
        assert counters(api) == {"dest": "0", "client": "2", "ip": "2", "prefix": "2",
                                 "sms": "2"}
        assert sent_tally(api) == 2  # the refused send's tally reservation went back
        assert api.redis.pttl(keys.dest_limit_key(DEST_HASH)) > 0  # refunded to 0, still expiring


async def test_idempotency_replay_reuse_and_in_progress(api: Api) -> None:
    key = {"Idempotency-Key": "cluster-1"}
    body = {"to": PHONE, "channel": "sms"}
    first = await api.send.post("/api/verifications", json=body, headers=key)
    assert first.status_code == 201
    replay = await api.send.post("/api/verifications", json=body, headers=key)
    assert (replay.status_code, replay.headers["Idempotent-Replayed"]) == (201, "true")
    assert replay.json() == first.json()
    reused = await api.send.post("/api/verifications", json={**body, "locale": "fr"},
                                 headers=key)
    assert reused.json()["code"] == "idempotency_key_reused"
    assert counters(api)["dest"] == "1"  # neither counted anything

    # Another request holding the claim: 409 with Retry-After 1, nothing counted or sent.
    other_body = {"to": "+14155550177", "channel": "sms"}
    idem_key = keys.idempotency_key(crypto.idem_hash(PEPPER, CLIENT, "cluster-2"))
    request_hash = crypto.request_hash(PEPPER, "POST", "/api/verifications", other_body)
    api.redis.set(idem_key, f'{{"request_hash": "{request_hash}", "in_progress": true}}',
                  px=30_000)
    busy = await api.send.post("/api/verifications", json=other_body,
                               headers={"Idempotency-Key": "cluster-2"})
    assert (busy.status_code, busy.json()["code"], busy.headers["Retry-After"]) == (
        409, "idempotency_key_in_use", "1")
    assert api.redis.get(keys.dest_limit_key(crypto.dest_hash(
        PEPPER, "sms", "+14155550177"))) is None
    assert api.redis.exists(idem_key) == 1  # the holder's marker stays

    # A refused send frees its claim, so the same key may be retried after a 429.
    api.redis.delete(idem_key)
    api.redis.set(keys.dest_limit_key(crypto.dest_hash(PEPPER, "sms", "+14155550177")), 10)
    limited = await api.send.post("/api/verifications", json=other_body,
                                  headers={"Idempotency-Key": "cluster-2"})
    assert limited.json()["code"] == "rate_limited"
    assert api.redis.exists(idem_key) == 0


async def test_the_claim_marker_expires_in_30_seconds(api: Api) -> None:
    """The marker a request sets while it runs, seen from a concurrent reader."""
    idem_key = keys.idempotency_key(crypto.idem_hash(PEPPER, CLIENT, "cluster-3"))
    store = api.send._transport.app.state.store  # type: ignore[attr-defined]
    claim = await store.scripts.run("idem_claim", [idem_key], ["h", keys.IDEMPOTENCY_CLAIM_TTL_MS])
    assert list(claim) == ["claimed", ""]
    assert 29_000 < api.redis.pttl(idem_key) <= 30_000
    again = await store.scripts.run("idem_claim", [idem_key], ["h", keys.IDEMPOTENCY_CLAIM_TTL_MS])
    assert list(again) == ["in_progress", ""]


@pytest.mark.parametrize("error", [
    MovedError("3999 127.0.0.1:6381"), AskError("3999 127.0.0.1:6381"), TryAgainError(),
    ClusterDownError("CLUSTERDOWN The cluster is down"), MasterDownError("MASTERDOWN"),
    ClusterError("TTL exhausted."), SlotNotCoveredError("slot 3999 not covered"),
    RedisConnectionError("node down"),
], ids=lambda e: type(e).__name__)
async def test_cluster_errors_the_client_does_not_absorb_answer_503(
    api: Api, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    for app_client in (api.send, api.verify):
        store = app_client._transport.app.state.store  # type: ignore[attr-defined]

        async def failing(*_: Any) -> Any:
            raise error

        monkeypatch.setattr(store.scripts, "run", failing)
    for response in (await api.start(), await api.check("123456", to=PHONE),
                     await api.send.get("/api/verifications/VE" + "0" * 32)):
        assert response.status_code == 503
        assert response.json()["code"] == "service_unavailable"
        assert int(response.headers["Retry-After"]) >= 1


async def test_concurrent_sends_never_pass_the_client_limit(cluster: LocalCluster) -> None:
    """Reserves are atomic per counter: of 15 sends at once with room for 10, exactly 10 pass,
    and the refused ones' reservations are given back."""
    client = sync_client(cluster)
    client.flushdb()
    settings = make_settings(cluster.url, redis_cluster=True, client_send_limit=10)
    async with running_api(client, settings, redis_factory=cluster_redis(cluster)) as api:
        numbers = [f"+1415555{n:04d}" for n in range(200, 215)]
        responses = await asyncio.gather(*(api.start(to) for to in numbers))
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [201] * 10 + [429] * 5
        assert client.get(keys.client_limit_key(CLIENT)) == "10"
        assert client.get(keys.SMS_LIMIT_KEY) == "10"
        assert sent_tally(api) == 10
        refused = [to for to, r in zip(numbers, responses, strict=True) if r.status_code == 429]
        for to in refused:
            assert client.get(keys.dest_limit_key(crypto.dest_hash(PEPPER, "sms", to))) == "0"


async def test_a_reserve_that_fails_gives_back_the_others_and_the_claim(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node down for one counter's slot: 503, and nothing stays counted or claimed."""
    store = api.send._transport.app.state.store  # type: ignore[attr-defined]
    run = store.scripts.run
    ip_key = keys.ip_limit_key(crypto.ip_hash(PEPPER, CLIENT_IP))

    async def ip_node_down(name: str, script_keys: list[str], args: list[Any]) -> Any:
        if script_keys == [ip_key] and name == "reserve":
            raise RedisConnectionError("node down")
        return await run(name, script_keys, args)

    monkeypatch.setattr(store.scripts, "run", ip_node_down)
    failed = await api.send.post("/api/verifications", json={"to": PHONE, "channel": "sms"},
                                 headers={"Idempotency-Key": "cluster-4"})
    assert failed.status_code == 503
    assert counters(api) == {"dest": "0", "client": "0", "ip": None, "prefix": "0", "sms": "0"}
    assert sent_tally(api) == 0
    assert api.redis.exists(keys.idempotency_key(crypto.idem_hash(PEPPER, CLIENT, "cluster-4"))
                            ) == 0
    assert api.redis.exists(record_key_of(PHONE)) == 0


def record_key_of(to: str) -> str:
    return keys.v3_record_key(CLIENT, dest_key(to))
