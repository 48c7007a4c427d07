"""Contract v3 records as the scripts write them: byte for byte the Python codec's (and so the
vectors'), small, and read back by every script."""

from __future__ import annotations

import dataclasses
from typing import Any

import redis

from services.verification import crypto, keys, packed
from tests.integration.services.support import (
    CLIENT,
    PEPPER,
    PHONE,
    Api,
    all_keys,
    events,
    expire_early,
    make_settings,
    outbox_jobs,
    record_key,
    running_api,
)


def expected_record(api: Api, verification_id: str, created_at: int, **fields: Any
                    ) -> packed.PackedRecord:
    """What the codec packs for a new record of this id (created at the given Redis time)."""
    code = api.code_for(verification_id)
    return packed.PackedRecord(
        rand=keys.rand_of_id(verification_id), code_mac16=crypto.code_mac16(PEPPER, code),
        code_sealed=crypto.seal_code_v3(PEPPER, verification_id, code), created_at=created_at,
        **fields)


async def test_the_send_script_writes_the_codecs_bytes(api: Api) -> None:
    body = (await api.send.post("/api/verifications", json={
        "to": "Ada.Lovelace@example.com", "channel": "email", "locale": "pt-BR",
        "reference": "a|b:c|42"})).json()
    vid = body["id"]
    assert vid.startswith("VE" + crypto.dest_key(PEPPER, CLIENT, crypto.dest_hash(
        PEPPER, "email", "ada.lovelace@example.com")))
    raw = str(api.redis.get(record_key(vid)))
    created_at = int(outbox_jobs(api.redis)[0]["enqueued_at"])
    want = expected_record(api, vid, created_at, to="ada.lovelace@example.com", channel="email",
                           locale="pt-BR", reference="a|b:c|42", status="pending",
                           send_attempts=1, check_attempts=0, ttl=600_000, sent_offset=0)
    assert raw == packed.pack(want)
    (job,) = outbox_jobs(api.redis)
    assert job == {"verification_id": vid, "channel": "email", "to": "ada.lovelace@example.com",
                   "locale": "pt-BR", "code_sealed": want.code_sealed, "send_attempt": "1",
                   "enqueued_at": job["enqueued_at"], "client": CLIENT}
    assert int(job["enqueued_at"]) == want.created_at
    assert "8:a|b:c|42" in raw  # length-prefixed: the reader takes exactly 8 bytes
    # The scripts read it back whole: a check approves it and the event carries the reference.
    checked = await api.check(api.code_for(vid), verification_id=vid)
    assert checked.json()["status"] == "approved"
    assert str(api.redis.get(record_key(vid))) == packed.pack(dataclasses.replace(
        want, status="approved", check_attempts=1))
    assert events(api.redis)[-1]["reference"] == "a|b:c|42"


async def test_a_resend_rewrites_the_record_and_keeps_its_ttl(
    redis_url: str, redis_client: redis.Redis
) -> None:
    async with running_api(redis_client, make_settings(
            redis_url, resend_cooldown_seconds=0)) as api:
        vid = (await api.start()).json()["id"]
        ttl_before = redis_client.pttl(record_key(vid))
        assert (await api.start()).status_code == 200
        stored = packed.unpack(str(redis_client.get(record_key(vid))))
        assert stored.send_attempts == 2
        assert stored.sent_offset >= 0
        assert redis_client.pttl(record_key(vid)) <= ttl_before  # KEEPTTL: not renewed


async def test_one_pending_record_uses_at_most_256_bytes(api: Api) -> None:
    vid = (await api.start(PHONE)).json()["id"]
    usage = api.redis.memory_usage(record_key(vid))
    assert usage is not None
    assert usage <= 256, usage
    assert all_keys(api.redis)


async def test_an_exhausted_record_past_its_ttl_is_not_found_by_to(
    redis_url: str, redis_client: redis.Redis
) -> None:
    """As in version 2 (whose pending index expires with the code TTL): by `to` it is gone, by
    id it still answers max_check_attempts_reached, and a send may start a new one."""
    async with running_api(redis_client, make_settings(redis_url, max_checks=1)) as api:
        vid = (await api.start()).json()["id"]
        await api.check("000000" if api.code_for(vid) != "000000" else "111111", to=PHONE)
        assert (await api.check("000000", to=PHONE)).json()["code"] == (
            "max_check_attempts_reached")
        expire_early(redis_client, vid)
        assert (await api.check("000000", to=PHONE)).status_code == 404
        assert (await api.check("000000", verification_id=vid)).json()["code"] == (
            "max_check_attempts_reached")
        assert (await api.start()).status_code == 201
