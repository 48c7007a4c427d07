"""Contract v3 "Migration from version 2" on the services: verifications a version-2 writer made
live on, in version 2's form, after the writer is switched to version 3 (single node only: a
cluster holds no version-2 data)."""

from __future__ import annotations

import pytest
import redis

from services.verification import crypto, keys
from tests.integration.services.support import (
    CLIENT,
    PEPPER,
    PHONE,
    all_keys,
    events,
    make_settings,
    outbox_jobs,
    record,
    record_key,
    running_api,
    wrong_code,
)

pytestmark = pytest.mark.single_node(
    "version-2 data: a cluster holds none, and its writer creates version 3 only")

DEST_HASH = crypto.dest_hash(PEPPER, "sms", PHONE)


def v2_record(client: redis.Redis, verification_id: str) -> dict[str, str]:
    return client.hgetall(keys.record_key(verification_id))  # type: ignore[return-value]


async def test_a_v2_verification_lives_on_after_the_switch_and_the_next_one_is_v3(
    redis_url: str, redis_client: redis.Redis
) -> None:
    common = {"resend_cooldown_seconds": 0, "max_checks": 10, "dest_failed_checks_per_day": 4}
    async with running_api(redis_client, make_settings(
            redis_url, storage_write_version=2, **common)) as v2_writer:
        created = (await v2_writer.start()).json()
        vid = created["id"]
        code = v2_writer.code_for(vid)
        assert v2_record(redis_client, vid)["v"] == "2"
        assert redis_client.get(keys.pending_key(CLIENT, DEST_HASH)) == vid
        assert (await v2_writer.check(wrong_code(code), to=PHONE)).status_code == 200

    async with running_api(redis_client, make_settings(redis_url, **common)) as api:
        # A send resends the live v2 verification, in v2's form: no second one, no new budget.
        resent = await api.start()
        assert (resent.status_code, resent.json()["id"]) == (200, vid)
        assert v2_record(redis_client, vid)["send_attempts"] == "2"
        assert redis_client.exists(record_key(vid)) == 0
        assert redis_client.exists(keys.v3_record_key(CLIENT, crypto.dest_key(
            PEPPER, CLIENT, DEST_HASH))) == 0
        (job,) = [j for j in outbox_jobs(redis_client) if j["send_attempt"] == "2"]
        assert redis_client.xlen(keys.OUTBOX_STREAM) == 2  # v2's stream, v2's seal
        assert crypto.open_sealed_code(PEPPER, vid, job["code_sealed"]) == code
        # Checks by id and by `to` find it; its failures count on v2's counter.
        assert (await api.check(wrong_code(code), verification_id=vid)).json()[
            "check_attempts"] == 2
        assert redis_client.get(keys.failed_checks_key(CLIENT, DEST_HASH)) == "2"
        read = await api.send.get(f"/api/verifications/{vid}")
        assert (read.json()["status"], read.json()["send_attempts"]) == ("pending", 2)
        approved = await api.check(code, to=PHONE)
        assert approved.json()["status"] == "approved"
        assert events(redis_client)[-1]["schema"] == "2"  # on vfy:events, as v2 writes it
        assert redis_client.xlen(keys.EVENTS_STREAM) == 1
        assert redis_client.exists(keys.pending_key(CLIENT, DEST_HASH)) == 0

        # It has ended: the next verification is version 3.
        fresh = await api.start()
        assert fresh.status_code == 201
        new_id = fresh.json()["id"]
        assert keys.dest_key_of_id(new_id) == crypto.dest_key(PEPPER, CLIENT, DEST_HASH)
        assert record(redis_client, new_id).status == "pending"
        assert redis_client.exists(keys.record_key(new_id)) == 0
        # Failed checks carry over: creating the v3 record moved v2's 2 into its counter (a
        # check by id reaches only that one), and 2 more make the limit of 4, by id and by `to`.
        assert redis_client.exists(keys.failed_checks_key(CLIENT, DEST_HASH)) == 0
        new_code = api.code_for(new_id)
        for _ in range(2):
            assert (await api.check(wrong_code(new_code), to=PHONE)).status_code == 200
        assert redis_client.get(keys.v3_failed_checks_key(
            CLIENT, keys.dest_key_of_id(new_id))) == "4"
        for refused in (await api.check(new_code, verification_id=new_id),
                        await api.check(new_code, to=PHONE), await api.start()):
            assert refused.status_code == 429
            assert refused.json()["code"] == "rate_limited"
        # The v2 record stays readable by its id.
        assert (await api.send.get(f"/api/verifications/{vid}")).json()["status"] == "approved"


async def test_an_exhausted_v2_verification_refuses_a_v3_send_and_cancel_by_id_reaches_v2(
    redis_url: str, redis_client: redis.Redis
) -> None:
    async with running_api(redis_client, make_settings(
            redis_url, storage_write_version=2, max_checks=1)) as v2_writer:
        exhausted = (await v2_writer.start()).json()["id"]
        await v2_writer.check(wrong_code(v2_writer.code_for(exhausted)), verification_id=exhausted)
        other = (await v2_writer.start("+14155550177")).json()["id"]
    async with running_api(redis_client, make_settings(redis_url, max_checks=1)) as api:
        refused = await api.start()
        assert (refused.status_code, refused.json()["code"]) == (
            429, "max_check_attempts_reached")
        canceled = await api.send.post(f"/api/verifications/{other}/cancel")
        assert (canceled.status_code, canceled.json()["status"]) == (200, "canceled")
        assert v2_record(redis_client, other)["status"] == "canceled"
        assert (await api.start("+14155550177")).status_code == 201  # now v3


async def test_writer_pinned_to_v2_creates_exact_v2_records(
    redis_url: str, redis_client: redis.Redis
) -> None:
    async with running_api(redis_client, make_settings(
            redis_url, storage_write_version=2)) as api:
        body = (await api.send.post("/api/verifications", json={
            "to": PHONE, "channel": "sms", "reference": "r-1"})).json()
        fields = v2_record(redis_client, body["id"])
        code = api.code_for(body["id"])
        assert fields == {
            "v": "2", "id": body["id"], "client": CLIENT, "to": PHONE, "channel": "sms",
            "locale": "", "reference": "r-1", "status": "pending",
            "code_mac": crypto.code_mac(PEPPER, code), "code_sealed": fields["code_sealed"],
            "dest_hash": DEST_HASH, "send_attempts": "1", "check_attempts": "0",
            "prefix_hash": crypto.prefix_hash(PEPPER, PHONE),
            "created_at": fields["created_at"],
            "expires_at": str(int(fields["created_at"]) + 600_000),
            "last_sent_at": fields["created_at"]}
        assert all_keys(redis_client, "vfy3:*") == []
        (job,) = outbox_jobs(redis_client)
        assert "client" not in job  # version 2's job form
