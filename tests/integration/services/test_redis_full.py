"""Redis full (maxmemory, noeviction): every write answers 503 service_unavailable with
Retry-After 1, never 500, and changes nothing; reads still answer; writes work again once memory
is free, without a restart."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import redis

from devtools.redis_server import EmbeddedRedis, start_embedded
from tests.integration.services.support import PHONE, make_settings, running_api, wrong_code
from tests.support.redis_memory import keyspace, out_of_memory

UNAVAILABLE = {"type": "urn:problem:verify:service_unavailable", "title": "Service unavailable",
               "status": 503, "detail": "A dependency is unavailable; retry later.",
               "code": "service_unavailable"}


@pytest.fixture
def own_server() -> Iterator[EmbeddedRedis]:
    server = start_embedded()  # its own: the session's server may be one the tests only flush
    yield server
    server.stop()


async def test_full_redis_refuses_writes_with_503_and_changes_nothing(
        own_server: EmbeddedRedis, caplog: pytest.LogCaptureFixture) -> None:
    admin = redis.Redis.from_url(own_server.url, decode_responses=True)
    settings = make_settings(own_server.url, resend_cooldown_seconds=0)
    async with running_api(admin, settings) as api:
        created = await api.start()
        assert created.status_code == 201
        vid = created.json()["id"]
        code = api.code_for(vid)
        before = keyspace(own_server.url)

        with out_of_memory(admin), caplog.at_level(logging.WARNING, logger="services.web"):
            refused = {
                "send": await api.start("+14155550177"),
                "resend": await api.start(),
                "wrong code": await api.check(wrong_code(code), verification_id=vid),
                "right code": await api.check(code, to=PHONE),
                "cancel": await api.send.post(f"/api/verifications/{vid}/cancel"),
            }
            read = await api.send.get(f"/api/verifications/{vid}")
            nothing_pending = await api.check("123456", to="+14155550199")
            ready = [await api.send.get("/readyz"), await api.verify.get("/readyz")]
            during = keyspace(own_server.url)

        answers = {name: (r.status_code, r.headers.get("retry-after"),
                          r.headers.get("content-type"), r.json())
                   for name, r in refused.items()}
        assert answers == dict.fromkeys(
            refused, (503, "1", "application/problem+json", UNAVAILABLE))
        assert read.status_code == 200 and read.json()["status"] == "pending"
        assert read.json()["check_attempts"] == 0
        assert nothing_pending.status_code == 404  # a check that only reads still answers
        assert [r.json() for r in ready] == [{"status": "ready"}] * 2
        assert during == before, "a refused write left something behind"
        full = [r for r in caplog.records if "out of memory" in r.getMessage()]
        assert len(full) == len(refused) and {r.levelname for r in full} == {"WARNING"}

        approved = await api.check(code, to=PHONE)
        assert approved.status_code == 200 and approved.json()["status"] == "approved"
        assert (await api.start("+14155550177")).status_code == 201
    admin.close()
