"""Round trips per send, check, cancel and read, counted on the real connections: exactly one on
a single node (two for an SMS approval: its tally); in cluster mode the contract's calls ("Cluster
mode": the claim, the concurrent reserves, the send, the refunds), each step one round trip.

How it is counted: the apps get a client (a node's pool, or a cluster client) whose connection
class records every write to the socket (`send_packed_command`), named by its command (EVALSHA by
its script's name). redis-py writes once per command, then reads the reply. A round trip is a
stretch of time with a reply awaited: calls sent concurrently (the reserves) share one, a call sent
after another's reply is the next. Connection set-up (HELLO/CLIENT SETINFO, a cluster's slot map)
is not counted: a warm-up request opens a connection, and a cluster client opens one per node and
per concurrent call on first use.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterable
from typing import Any

import httpx
import redis
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import Connection, ConnectionPool

from services.verification.scripts import load_script_sources
from services.verification.settings import Settings
from tests.integration.services.support import PHONE, make_settings, running_api

SCRIPT_OF_SHA = {hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest(): name
                 for name, source in load_script_sources().items()}
# The round trips of the last measured call: each the sorted names of the calls it carried.
ROUNDS: list[list[str]] = []
AWAITING: set[int] = set()  # the connections with a reply to read


class CountingConnection(Connection):
    connecting = False

    async def connect_check_health(self, *args: Any, **kwargs: Any) -> None:
        self.connecting = True  # set-up writes are not the operation's
        try:
            await super().connect_check_health(*args, **kwargs)
        finally:
            self.connecting = False

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        if not self.connecting:
            raw = command if isinstance(command, bytes | str) else b"".join(command)
            text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
            name, *rest = text.split("\r\n")[2::2][:2]
            if name.upper() == "EVALSHA":
                name = SCRIPT_OF_SHA[rest[0]]
            if not AWAITING:
                ROUNDS.append([])
            ROUNDS[-1] = sorted([*ROUNDS[-1], name])
            AWAITING.add(id(self))
        await super().send_packed_command(command, check_health)

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().read_response(*args, **kwargs)
        finally:
            if not self.connecting:
                AWAITING.discard(id(self))


CLIENTS: list[Redis] = []  # the apps' clients not yet warmed up


def counting_redis(settings: Settings) -> Redis:
    CLIENTS.append(client := _counting_redis(settings))
    return client


def _counting_redis(settings: Settings) -> Redis:
    if settings.redis_cluster:
        client = RedisCluster.from_url(settings.redis_url, decode_responses=True)
        # Nodes the client discovers are built from these kwargs; the URL's node already is.
        client.connection_kwargs["connection_class"] = CountingConnection
        for node in client.nodes_manager.startup_nodes.values():
            node.connection_class = CountingConnection
        return client  # type: ignore[return-value]
    pool: ConnectionPool = ConnectionPool.from_url(
        settings.redis_url, connection_class=CountingConnection, decode_responses=True
    )
    return Redis(connection_pool=pool)


async def open_connections() -> None:
    """Open, on every node, connections for the calls an operation makes at once, so that none
    is opened (a set-up's wait) inside a measured call."""
    while CLIENTS:
        client = CLIENTS.pop()
        if isinstance(client, RedisCluster):
            await client.initialize()
            for node in client.get_primaries():
                await asyncio.gather(*(client.ping(target_nodes=node) for _ in range(8)))
        else:
            await client.ping()


async def measure(call: Any) -> list[list[str]]:
    return (await measure_response(call))[1]


async def measure_response(call: Any) -> tuple[httpx.Response, list[list[str]]]:
    ROUNDS.clear()
    response = await call
    assert response.status_code < 500, response.text
    assert not AWAITING
    return response, [list(calls) for calls in ROUNDS]


# Cluster mode's reserves (one round trip: sent concurrently) and refunds after a refusal.
EMAIL_RESERVES = ["reserve"] * 3  # dest, client, ip
SMS_RESERVES = sorted(["reserve"] * 5 + ["reserve_tally"])  # and tally, prefix, sms
# A refusal by one SMS counter gives back the five others (the full one counted nothing).
SMS_REFUNDS_BUT_ONE_COUNTER = sorted(["refund"] * 4 + ["refund_tally"])


def sends(cluster: bool, *, sms: bool = True, resent: bool = False, claimed: bool = False,
          refunds: list[str] | None = None) -> list[list[str]]:
    """The round trips of a send: one on a single node; in cluster mode the claim (with an
    Idempotency-Key), the reserves, the send, a resend's tally refund or a refusal's refunds,
    then the stored result."""
    if not cluster:
        return [["send"]]
    rounds = [["idem_claim"]] if claimed else []
    rounds += [SMS_RESERVES if sms else EMAIL_RESERVES, ["send"]]
    if resent and sms:
        rounds.append(["refund_tally"])
    if refunds:
        rounds.append(refunds)
    if claimed:
        rounds.append(["SET"] if refunds is None else ["DEL"])
    return rounds


async def test_one_round_trip_per_operation(redis_url: str, redis_client: redis.Redis) -> None:
    settings = make_settings(redis_url, resend_cooldown_seconds=0)
    cluster = settings.redis_cluster
    async with running_api(redis_client, settings, redis_factory=counting_redis) as api:
        await open_connections()
        await api.check("000000", to="+14155550999")
        created = await api.start()
        vid = created.json()["id"]
        code = api.code_for(vid)
        key = {"Idempotency-Key": "rt-1"}
        body = {"to": PHONE, "channel": "sms"}

        assert await measure(api.start()) == sends(cluster, resent=True)
        assert await measure(api.send.post("/api/verifications", json=body, headers=key)) == (
            sends(cluster, resent=True, claimed=True))
        replay = [["idem_claim"]] if cluster else [["send"]]
        assert await measure(api.send.post("/api/verifications", json=body, headers=key)) == (
            replay)
        assert await measure(api.start("+14155550111")) == sends(cluster)  # new verification
        assert await measure(api.check("000001", verification_id=vid)) == [["check"]]
        assert await measure(api.check("000001", to=PHONE)) == [["check"]]
        assert await measure(api.send.get(f"/api/verifications/{vid}")) == [["read"]]
        # An SMS approval, then its tally (a one-key script: the tally is in another slot).
        assert await measure(api.check(code, to=PHONE)) == [["check"], ["tally_approval"]]
        other = (await api.start("+14155550122")).json()["id"]
        assert await measure(api.send.post(f"/api/verifications/{other}/cancel")) == [["cancel"]]
        assert await measure(api.check("123456", verification_id="bogus")) == []
        email = (await measure_response(api.start("someone@example.com", "email")))
        assert email[1] == sends(cluster, sms=False)
        email_id = email[0].json()["id"]
        assert await measure(api.check(api.code_for(email_id), verification_id=email_id)) == [
            ["check"]]  # an email approval is tallied nowhere


async def test_one_round_trip_per_send_the_guards_refuse(
    redis_url: str, redis_client: redis.Redis
) -> None:
    """The SMS-pumping guards are judged and counted inside the send script on a single node;
    in cluster mode by the reserves, and a refusal gives back what they counted."""
    settings = make_settings(redis_url, sms_prefix_limit=2, sms_global_limit=3)
    cluster = settings.redis_cluster
    refunds = SMS_REFUNDS_BUT_ONE_COUNTER
    async with running_api(redis_client, settings, redis_factory=counting_redis) as api:
        await open_connections()
        assert await measure(api.start("+14155550101")) == sends(cluster)
        assert await measure(api.start("+14155550102")) == sends(cluster)
        refused = await api.start("+14155550103")
        assert refused.json()["code"] == "prefix_rate_limited"
        assert await measure(api.start("+14155550103")) == sends(cluster, refunds=refunds)
        assert await measure(api.start("+14155560101")) == sends(cluster)
        refused = await api.start("+14155570101")
        assert refused.json()["code"] == "sms_capacity_exceeded"
        assert await measure(api.start("+14155570101")) == sends(cluster, refunds=refunds)


async def test_noscript_fallback_only_after_script_cache_loss(
    redis_url: str, redis_client: redis.Redis
) -> None:
    settings = make_settings(redis_url)
    cluster = settings.redis_cluster
    async with running_api(redis_client, settings, redis_factory=counting_redis) as api:
        await open_connections()
        await api.start("+14155550133")
        redis_client.script_flush()  # what a Redis restart does to the script cache (every node)
        after_loss = await measure(api.start("+14155550134"))
        if cluster:
            # Each script's first call answers NOSCRIPT, loads it (on every primary), retries.
            scripts = [name for calls in sends(cluster) for name in calls]
            calls = [name for calls in after_loss for name in calls]
            assert sorted(name for name in calls if name != "SCRIPT") == sorted(scripts * 2)
            assert calls.count("SCRIPT") == len(scripts) * len(redis_client.get_primaries())  # type: ignore[attr-defined]
        else:
            assert after_loss == [["send"], ["SCRIPT"], ["send"]]
        assert await measure(api.start("+14155550135")) == sends(cluster)
