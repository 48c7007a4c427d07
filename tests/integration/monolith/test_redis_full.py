"""Redis full (maxmemory, noeviction): every write answers 503 service_unavailable with
Retry-After 1, never 500, and changes nothing; reads still answer; writes work again once memory
is free, without a restart. On the session's kind of Redis: one node, or (REDIS_CLUSTER=1) a
cluster whose every primary is full (each node judges its own memory)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
import redis
from flask import Flask

from devtools.redis_cluster import local_cluster
from devtools.redis_server import client_of, cluster_mode, start_embedded
from monolith import keys
from monolith.crypto import Keyring
from tests.integration.monolith.conftest import PEPPER, PHONE
from tests.support.redis_memory import keyspace, out_of_memory

UNAVAILABLE = {"type": "urn:problem:verify:service_unavailable", "title": "Service unavailable",
               "status": 503, "detail": "A dependency is unavailable; retry later.",
               "code": "service_unavailable"}


@pytest.fixture
def own_redis() -> Iterator[tuple[str, list[str]]]:
    """A Redis of the test's own (the session's may be one the tests only flush): its URL and
    the URL of each of its primaries (one node, or every primary of a cluster)."""
    if cluster_mode():
        with local_cluster(primaries=3) as cluster:
            yield cluster.url, [node.url for node in cluster.primaries]
        return
    server = start_embedded()
    yield server.url, [server.url]
    server.stop()


def every_key(node_urls: list[str]) -> dict[bytes, tuple[bytes | None, bool]]:
    """keyspace() of every primary: one snapshot of the whole Redis."""
    found: dict[bytes, tuple[bytes | None, bool]] = {}
    for url in node_urls:
        found.update(keyspace(url))
    return found


def test_full_redis_refuses_writes_with_503_and_changes_nothing(
        make_app: Callable[..., Flask], own_redis: tuple[str, list[str]],
        caplog: pytest.LogCaptureFixture) -> None:
    url, node_urls = own_redis
    client = make_app(redis_url=url).test_client()
    admin = client_of(url, cluster=cluster_mode())
    nodes = [redis.Redis.from_url(node_url, decode_responses=True) for node_url in node_urls]
    created = client.post("/api/verifications", json={"to": PHONE, "channel": "sms"})
    assert created.status_code == 201
    vid = created.get_json()["id"]
    outbox = keys.v3_outbox(keys.bucket(vid[2:18]))
    entries: list[tuple[str, dict[str, str]]] = admin.xrange(outbox)  # type: ignore[assignment]
    (job,) = [fields for _, fields in entries]
    code = Keyring(PEPPER).open_seal_v3(vid, job["code_sealed"])
    wrong = "".join(str((int(digit) + 1) % 10) for digit in code)
    user = client.post("/api/users", json={"name": "Ada", "phone": "+14155550101"})
    assert user.status_code == 201
    user_id = user.get_json()["id"]
    before = every_key(node_urls)

    with ExitStack() as every_node_full, caplog.at_level(logging.WARNING, logger="monolith"):
        for node in nodes:
            every_node_full.enter_context(out_of_memory(node))
        refused = {
            "send": client.post("/api/verifications", json={"to": "+14155550177",
                                                            "channel": "sms"}),
            "resend": client.post("/api/verifications", json={"to": PHONE, "channel": "sms"}),
            "wrong code": client.post("/api/verification-checks",
                                      json={"verification_id": vid, "code": wrong}),
            "right code": client.post("/api/verification-checks", json={"to": PHONE,
                                                                         "code": code}),
            "cancel": client.post(f"/api/verifications/{vid}/cancel"),
            "new user": client.post("/api/users", json={"name": "Bob", "phone": "+14155550102"}),
            "user send": client.post(f"/api/users/{user_id}/verifications",
                                     json={"channel": "sms"}),
        }
        read = client.get(f"/api/verifications/{vid}")
        nothing_pending = client.post("/api/verification-checks",
                                      json={"to": "+14155550199", "code": "123456"})
        ready = client.get("/readyz")
        during = every_key(node_urls)

    answers = {name: (r.status_code, r.headers.get("Retry-After"), r.get_json())
               for name, r in refused.items()}
    assert answers == dict.fromkeys(refused, (503, "1", UNAVAILABLE))
    assert read.status_code == 200 and read.get_json()["status"] == "pending"
    assert read.get_json()["check_attempts"] == 0
    assert nothing_pending.status_code == 404  # a check that only reads still answers
    assert ready.get_json() == {"status": "ready"}
    assert during == before, "a refused write left something behind"
    full = [r for r in caplog.records if "out of memory" in r.getMessage()]
    assert len(full) == len(refused) and {r.levelname for r in full} == {"WARNING"}

    approved = client.post("/api/verification-checks", json={"to": PHONE, "code": code})
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    assert client.post("/api/verifications", json={"to": "+14155550177",
                                                   "channel": "sms"}).status_code == 201
    admin.close()
    for node in nodes:
        node.close()
