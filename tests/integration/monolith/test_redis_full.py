"""Redis full (maxmemory, noeviction): every write answers 503 service_unavailable with
Retry-After 1, never 500, and changes nothing; reads still answer; writes work again once memory
is free, without a restart."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
import redis
from flask import Flask

from devtools.redis_server import EmbeddedRedis, start_embedded
from monolith import keys
from monolith.crypto import Keyring
from tests.integration.monolith.conftest import PEPPER, PHONE
from tests.support.redis_memory import keyspace, out_of_memory

UNAVAILABLE = {"type": "urn:problem:verify:service_unavailable", "title": "Service unavailable",
               "status": 503, "detail": "A dependency is unavailable; retry later.",
               "code": "service_unavailable"}


@pytest.fixture
def own_server() -> Iterator[EmbeddedRedis]:
    server = start_embedded()  # its own: the session's server may be one the tests only flush
    yield server
    server.stop()


def test_full_redis_refuses_writes_with_503_and_changes_nothing(
        make_app: Callable[..., Flask], own_server: EmbeddedRedis,
        caplog: pytest.LogCaptureFixture) -> None:
    client = make_app(redis_url=own_server.url).test_client()
    admin = redis.Redis.from_url(own_server.url, decode_responses=True)
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
    before = keyspace(own_server.url)

    with out_of_memory(admin), caplog.at_level(logging.WARNING, logger="monolith"):
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
        during = keyspace(own_server.url)

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
