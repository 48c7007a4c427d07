"""A rolling upgrade: records and pending indexes a version-1 writer left behind (written here with
raw Redis commands, exactly as docs/storage-contract.md version 1 describes them) are read, checked,
canceled and resent by the v2 code. A v1 record has no `client`: it belongs to no one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis

from services.verification import crypto
from tests.integration.services.support import (
    AS_OTHER,
    PEPPER,
    PHONE,
    Api,
    events,
    running_api,
    two_client_settings,
)

CODE_TTL_MS = 600_000
RETENTION_MS = 86_400_000
V1_ID = "VE" + "1" * 32
CODE = "424242"


def write_v1_verification(
    client: redis.Redis, verification_id: str = V1_ID, to: str = PHONE,
    status: str = "pending", check_attempts: int = 0,
) -> None:
    """HSET of every v1 field, PEXPIRE code TTL + retention, SET of the v1 pending index."""
    seconds, micros = client.time()
    now = seconds * 1000 + micros // 1000
    dest_hash = crypto.dest_hash(PEPPER, "sms", to)
    record = f"vfy:ver:{verification_id}"
    client.hset(record, mapping={
        "v": "1", "id": verification_id, "to": to, "channel": "sms", "locale": "",
        "status": status, "code_mac": crypto.code_mac(PEPPER, CODE),
        "code_sealed": crypto.seal_code(PEPPER, verification_id, CODE), "dest_hash": dest_hash,
        "send_attempts": "1", "check_attempts": str(check_attempts),
        "created_at": str(now - 60_000), "expires_at": str(now - 60_000 + CODE_TTL_MS),
        "last_sent_at": str(now - 60_000),
    })
    client.pexpire(record, CODE_TTL_MS + RETENTION_MS)
    client.set(f"vfy:pending:{dest_hash}", verification_id, px=CODE_TTL_MS)


def v1_index(to: str = PHONE) -> str:
    return f"vfy:pending:{crypto.dest_hash(PEPPER, 'sms', to)}"


@pytest.fixture
async def api(redis_url: str, redis_client: redis.Redis) -> AsyncIterator[Api]:
    async with running_api(redis_client, two_client_settings(redis_url)) as running:
        write_v1_verification(redis_client)
        yield running


async def test_any_client_reads_a_v1_verification(api: Api) -> None:
    for headers in ({}, AS_OTHER):
        read = await api.send.get(f"/api/verifications/{V1_ID}", headers=headers)
        assert read.status_code == 200
        assert (read.json()["status"], read.json()["reference"]) == ("pending", None)


async def test_check_by_to_finds_the_v1_index(api: Api) -> None:
    wrong = await api.verify.post("/api/verification-checks",
                                  json={"to": PHONE, "code": "000000"}, headers=AS_OTHER)
    assert wrong.json()["status"] == "pending"
    approved = await api.check(CODE, to=PHONE)
    assert approved.json() | {"verification_id": V1_ID, "status": "approved"} == approved.json()
    assert api.redis.exists(v1_index()) == 0  # the final transition deletes the v1 index
    (event,) = events(api.redis)
    assert (event["type"], event["client"], event["reference"], event["schema"]) == (
        "verification.approved", "", "", "2")


async def test_check_by_id_of_a_v1_verification(api: Api) -> None:
    approved = await api.verify.post("/api/verification-checks",
                                     json={"verification_id": V1_ID, "code": CODE},
                                     headers=AS_OTHER)
    assert approved.json()["status"] == "approved"
    assert api.redis.hget(f"vfy:ver:{V1_ID}", "client") is None  # still no one's


async def test_cancel_of_a_v1_verification(api: Api) -> None:
    canceled = await api.send.post(f"/api/verifications/{V1_ID}/cancel", headers=AS_OTHER)
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    assert api.redis.exists(v1_index()) == 0
    assert events(api.redis)[-1]["client"] == ""


async def test_a_send_resends_the_v1_verification(api: Api) -> None:
    resent = await api.start()
    assert resent.status_code == 200
    assert (resent.json()["id"], resent.json()["send_attempts"]) == (V1_ID, 2)
    assert api.code_for(V1_ID) == CODE
    assert api.redis.hget(f"vfy:ver:{V1_ID}", "v") == "1"


async def test_an_exhausted_v1_verification_refuses_a_new_send(
    api: Api, redis_client: redis.Redis
) -> None:
    other_id, to = "VE" + "2" * 32, "+14155550155"
    write_v1_verification(redis_client, other_id, to, "max_attempts_reached", 5)
    refused = await api.start(to)
    assert refused.status_code == 429
    assert refused.json()["code"] == "max_check_attempts_reached"
    assert 530 <= int(refused.headers["Retry-After"]) <= 540


async def test_a_v1_index_naming_a_v2_record_is_not_used(api: Api) -> None:
    """Only v1 writers write the v1 index; one that names an owned record is not the caller's."""
    theirs = (await api.start("+14155550156")).json()
    api.redis.set(v1_index("+14155550156"), theirs["id"], px=CODE_TTL_MS)
    found = await api.verify.post("/api/verification-checks",
                                  json={"to": "+14155550156", "code": "000000"},
                                  headers=AS_OTHER)
    assert found.status_code == 404
