"""Redis down: 503 service_unavailable with Retry-After: 1, never 500; recovery without restart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from devtools.redis_server import EmbeddedRedis, start_embedded
from tests.integration.services.support import PHONE, make_settings, running_api

UNAVAILABLE = {"type": "urn:problem:verify:service_unavailable", "title": "Service unavailable",
               "status": 503, "detail": "A dependency is unavailable; retry later.",
               "code": "service_unavailable"}


@pytest.fixture
def own_server() -> Iterator[EmbeddedRedis]:
    server = start_embedded()
    yield server
    server.stop()


async def test_outage_answers_503_and_recovers(own_server: EmbeddedRedis) -> None:
    port = own_server.port
    sync_client = redis.Redis(port=port, decode_responses=True)
    async with running_api(sync_client, make_settings(own_server.url)) as api:
        created = await api.start()
        assert created.status_code == 201
        vid = created.json()["id"]

        own_server.stop()
        for response in (
            await api.start("+14155550177"),
            await api.send.get(f"/api/verifications/{vid}"),
            await api.send.post(f"/api/verifications/{vid}/cancel"),
            await api.check("123456", verification_id=vid),
            await api.check("123456", to=PHONE),
            await api.send.get("/readyz"),
            await api.verify.get("/readyz"),
        ):
            assert response.status_code == 503
            assert response.headers["retry-after"] == "1"
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json() == UNAVAILABLE
        assert (await api.send.get("/healthz")).json() == {"status": "ok"}

        restarted = start_embedded(port=port)  # empty: no data, no cached scripts
        try:
            assert (await api.send.get("/readyz")).json() == {"status": "ready"}
            again = await api.start()
            assert again.status_code == 201
            assert api.code_for(again.json()["id"])
            checked = await api.check(api.code_for(again.json()["id"]), to=PHONE)
            assert checked.json()["status"] == "approved"
        finally:
            restarted.stop()
    sync_client.close()


async def test_app_starts_while_redis_is_down(redis_client: redis.Redis) -> None:
    server = start_embedded()
    url = server.url
    server.stop()
    async with running_api(redis_client, make_settings(url)) as api:
        response = await api.start()
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
