"""Storage contract "Migration from version 2" on one node: a version-2 writer and a version-3
writer on one Redis keep one live verification per client and destination, resend and check the
version-2 one in its own form, judge failed checks summed across versions, and create version 3
only once no version-2 verification is live."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis
from flask import Flask

from monolith import keys, packed
from monolith.crypto import Keyring
from tests.integration.monolith.conftest import PHONE, v3_key

# The migration happens on one node, before any move to a cluster (contract "Migration from
# version 2", step 3): a cluster holds no version-2 data and its writers create version 3 only.
pytestmark = pytest.mark.single_node("version-2 data: the migration runs on one node, and a "
                                     "cluster's writers create version 3 only")

OTHER_PHONE = "+14155550101"
SEND = "/api/verifications"
CHECK = "/api/verification-checks"


def test_a_live_v2_verification_is_served_in_v2_form_by_a_v3_writer(
    make_app: Callable[..., Flask], redis_client: redis.Redis, keyring: Keyring,
    outbox_codes: Callable[[str], list[str]], stream: Callable[[str], Any],
) -> None:
    v2_writer = make_app(storage_write_version=2, dest_failed_checks_per_day=3).test_client()
    v3_writer = make_app(dest_failed_checks_per_day=3).test_client()
    dest_hash = keyring.dest_hash("sms", PHONE)
    dest_key = keyring.dest_key("tests", dest_hash)

    vid2 = v2_writer.post(SEND, json={"to": PHONE, "channel": "sms", "reference": "r2"})
    vid2 = vid2.get_json()["id"]
    assert redis_client.hget(f"vfy:ver:{vid2}", "v") == "2"
    resent = v3_writer.post(SEND, json={"to": PHONE, "channel": "sms"})
    assert resent.status_code == 200 and resent.get_json()["id"] == vid2  # no second one
    assert resent.get_json()["reference"] == "r2"
    assert redis_client.hget(f"vfy:ver:{vid2}", "send_attempts") == "2"
    assert not redis_client.exists(v3_key(vid2), keys.v3_record("tests", dest_key))
    codes = outbox_codes(vid2)  # both jobs on vfy:outbox, the v2 seal
    assert len(codes) == 2 and codes[0] == codes[1]
    assert [job["send_attempt"] for _id, job in stream(keys.OUTBOX)] == ["1", "2"]

    wrong = v3_writer.post(CHECK, json={"to": PHONE, "code": "000000"})
    assert wrong.get_json()["verification_id"] == vid2 and wrong.get_json()["status"] == "pending"
    assert redis_client.get(keys.failed_checks("tests", dest_hash)) == "1"  # its version's
    approved = v3_writer.post(CHECK, json={"verification_id": vid2, "code": codes[0]})
    assert approved.get_json()["status"] == "approved"
    [(_id, event)] = stream(keys.EVENTS)
    assert (event["schema"], event["verification_id"], event["dest_hash"]) == ("2", vid2,
                                                                             dest_hash)
    assert not redis_client.exists(keys.pending("tests", dest_hash))

    # no v2 verification is live: the next one is version 3
    created = v3_writer.post(SEND, json={"to": PHONE, "channel": "sms"})
    assert created.status_code == 201
    vid3 = created.get_json()["id"]
    assert vid3[2:18] == dest_key and packed.unpack(str(redis_client.get(v3_key(vid3))))
    # failed checks carry over: the v2 counter's 1 moved into the v3 one when the v3 record was
    # created (a check by id reaches only its version's counter), then 2 more make the limit of 3
    assert redis_client.get(keys.v3_failed_checks("tests", dest_key)) == "1"
    assert not redis_client.exists(keys.failed_checks("tests", dest_hash))
    for _ in range(2):
        assert v3_writer.post(CHECK, json={"to": PHONE, "code": "000000"}).status_code == 200
    assert redis_client.get(keys.v3_failed_checks("tests", dest_key)) == "3"
    for body in ({"to": PHONE, "code": outbox_codes(vid3)[0]},
                 {"verification_id": vid3, "code": outbox_codes(vid3)[0]}):
        refused = v3_writer.post(CHECK, json=body)
        assert refused.status_code == 429 and refused.get_json()["code"] == "rate_limited"
    refused_send = v2_writer.post(SEND, json={"to": PHONE, "channel": "sms"})
    assert refused_send.status_code == 429 and refused_send.get_json()["code"] == "rate_limited"


def test_a_v2_writer_resends_a_live_v3_verification(
    make_app: Callable[..., Flask], redis_client: redis.Redis,
    outbox_codes: Callable[[str], list[str]],
) -> None:
    v3_writer = make_app().test_client()
    v2_writer = make_app(storage_write_version=2).test_client()
    vid3 = v3_writer.post(SEND, json={"to": PHONE, "channel": "sms"}).get_json()["id"]
    resent = v2_writer.post(SEND, json={"to": PHONE, "channel": "sms"})
    assert resent.status_code == 200 and resent.get_json()["id"] == vid3
    assert not redis_client.exists(keys.OUTBOX, f"vfy:ver:{vid3}")
    codes = outbox_codes(vid3)
    assert len(codes) == 2 and codes[0] == codes[1]
    approved = v2_writer.post(CHECK, json={"to": PHONE, "code": codes[0]})
    assert approved.get_json()["status"] == "approved"


def test_a_v2_record_is_read_and_canceled_by_id(
    make_app: Callable[..., Flask], redis_client: redis.Redis, keyring: Keyring,
    stream: Callable[[str], Any],
) -> None:
    v2_writer = make_app(storage_write_version=2).test_client()
    v3_writer = make_app().test_client()
    vid2 = v2_writer.post(SEND, json={"to": OTHER_PHONE, "channel": "sms"}).get_json()["id"]
    read = v3_writer.get(f"{SEND}/{vid2}")
    assert read.status_code == 200 and read.get_json()["status"] == "pending"
    canceled = v3_writer.post(f"{SEND}/{vid2}/cancel")
    assert canceled.status_code == 200 and canceled.get_json()["status"] == "canceled"
    assert redis_client.hget(f"vfy:ver:{vid2}", "status") == "canceled"
    assert not redis_client.exists(keys.pending("tests", keyring.dest_hash("sms", OTHER_PHONE)))
    [(_id, event)] = stream(keys.EVENTS)
    assert (event["schema"], event["type"]) == ("2", "verification.canceled")
    assert v3_writer.post(f"{SEND}/{vid2}/cancel").status_code == 409
    final = v3_writer.post(CHECK, json={"verification_id": vid2, "code": "000000"})
    assert final.status_code == 404


def test_a_v2_record_takes_over_the_v3_failed_checks_so_a_check_by_id_judges_them(
    make_app: Callable[..., Flask], redis_client: redis.Redis, keyring: Keyring,
    outbox_codes: Callable[[str], list[str]],
) -> None:
    """A check by id of a v2 record reaches only the v2 counter: creating the v2 record moved
    the destination's v3 wrong codes into it."""
    v2_writer = make_app(storage_write_version=2, dest_failed_checks_per_day=2).test_client()
    v3_writer = make_app(dest_failed_checks_per_day=2).test_client()
    dest_hash = keyring.dest_hash("sms", PHONE)
    redis_client.set(keys.v3_failed_checks("tests", keyring.dest_key("tests", dest_hash)), 1,
                     px=60_000)
    vid2 = v2_writer.post(SEND, json={"to": PHONE, "channel": "sms"}).get_json()["id"]
    wrong = v3_writer.post(CHECK, json={"verification_id": vid2, "code": "000000"})
    assert wrong.status_code == 200
    assert redis_client.get(keys.failed_checks("tests", dest_hash)) == "2"  # 1 moved, 1 wrong
    refused = v3_writer.post(CHECK, json={"verification_id": vid2, "code": outbox_codes(vid2)[0]})
    assert refused.status_code == 429 and refused.get_json()["code"] == "rate_limited"
