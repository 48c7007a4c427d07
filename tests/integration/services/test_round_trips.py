"""Exactly one Redis round trip per send, check, cancel and read (two for an SMS approval: its
tally), counted on the real connection.

How it is counted: the apps get a pool whose connection class records every write to the socket
(`send_packed_command`). redis-py writes once per command and once per pipeline, then reads the
replies, so one write is one round trip. Connection set-up (HELLO/SELECT/CLIENT SETINFO) is also a
write; a warm-up request opens the pooled connection before the counter is reset.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpx
import redis
from redis.asyncio import Redis
from redis.asyncio.connection import Connection, ConnectionPool

from services.verification.settings import Settings
from tests.integration.services.support import PHONE, make_settings, running_api

WRITES: list[str] = []


class CountingConnection(Connection):
    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        raw = command if isinstance(command, bytes | str) else b"".join(command)
        text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
        WRITES.append(" ".join(text.split("\r\n")[2::2][:1]))  # first command name of the write
        await super().send_packed_command(command, check_health)


def counting_redis(settings: Settings) -> Redis:
    pool: ConnectionPool = ConnectionPool.from_url(
        settings.redis_url, connection_class=CountingConnection, decode_responses=True
    )
    return Redis(connection_pool=pool)


async def measure(call: Any) -> list[str]:
    return (await measure_response(call))[1]


async def measure_response(call: Any) -> tuple[httpx.Response, list[str]]:
    WRITES.clear()
    response = await call
    assert response.status_code < 500, response.text
    return response, list(WRITES)


async def test_one_round_trip_per_operation(redis_url: str, redis_client: redis.Redis) -> None:
    settings = make_settings(redis_url, resend_cooldown_seconds=0)
    async with running_api(redis_client, settings, redis_factory=counting_redis) as api:
        await api.send.get("/api/verifications/VE" + "0" * 32)  # warm-up: opens the connection
        await api.check("000000", to="+14155550999")
        created = await api.start()
        vid = created.json()["id"]
        code = api.code_for(vid)
        key = {"Idempotency-Key": "rt-1"}
        body = {"to": PHONE, "channel": "sms"}

        assert await measure(api.start()) == ["EVALSHA"]  # resend
        assert await measure(api.send.post("/api/verifications", json=body, headers=key)) == [
            "EVALSHA"]
        assert await measure(api.send.post("/api/verifications", json=body, headers=key)) == [
            "EVALSHA"]  # replay
        assert await measure(api.start("+14155550111")) == ["EVALSHA"]  # new verification
        assert await measure(api.check("000001", verification_id=vid)) == ["EVALSHA"]
        assert await measure(api.check("000001", to=PHONE)) == ["EVALSHA"]
        assert await measure(api.send.get(f"/api/verifications/{vid}")) == ["EVALSHA"]  # read.lua
        # An SMS approval, then its tally (a one-key script: the tally is in another slot).
        assert await measure(api.check(code, to=PHONE)) == ["EVALSHA", "EVALSHA"]
        other = (await api.start("+14155550122")).json()["id"]
        assert await measure(api.send.post(f"/api/verifications/{other}/cancel")) == ["EVALSHA"]
        assert await measure(api.check("123456", verification_id="bogus")) == []
        email = (await measure_response(api.start("someone@example.com", "email")))
        assert email[1] == ["EVALSHA"]
        email_id = email[0].json()["id"]
        assert await measure(api.check(api.code_for(email_id), verification_id=email_id)) == [
            "EVALSHA"]  # an email approval is tallied nowhere


async def test_one_round_trip_per_send_the_guards_refuse(
    redis_url: str, redis_client: redis.Redis
) -> None:
    """The SMS-pumping guards are judged and counted inside the send script."""
    settings = make_settings(redis_url, sms_prefix_limit=2, sms_global_limit=3)
    async with running_api(redis_client, settings, redis_factory=counting_redis) as api:
        await api.send.get("/api/verifications/VE" + "0" * 32)  # warm-up: opens the connection
        assert await measure(api.start("+14155550101")) == ["EVALSHA"]
        assert await measure(api.start("+14155550102")) == ["EVALSHA"]
        refused = await api.start("+14155550103")
        assert refused.json()["code"] == "prefix_rate_limited"
        assert await measure(api.start("+14155550103")) == ["EVALSHA"]
        assert await measure(api.start("+14155560101")) == ["EVALSHA"]
        refused = await api.start("+14155570101")
        assert refused.json()["code"] == "sms_capacity_exceeded"
        assert await measure(api.start("+14155570101")) == ["EVALSHA"]


async def test_noscript_fallback_only_after_script_cache_loss(
    redis_url: str, redis_client: redis.Redis
) -> None:
    async with running_api(redis_client, make_settings(redis_url),
                           redis_factory=counting_redis) as api:
        await api.start("+14155550133")
        redis_client.script_flush()  # what a Redis restart does to the script cache
        assert await measure(api.start("+14155550134")) == ["EVALSHA", "SCRIPT", "EVALSHA"]
        assert await measure(api.start("+14155550135")) == ["EVALSHA"]
