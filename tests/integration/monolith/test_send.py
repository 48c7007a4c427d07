"""POST /api/verifications in Redis: the record, index, job and counters; the trusted proxies.

The API rules of sending are the contract suite's (contract_tests/test_send.py); the client IP
behind a proxy needs the peer address, which only an in-process client can choose.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis
from flask import Flask

from monolith import keys, packed
from monolith.crypto import Keyring
from tests.integration.monolith.conftest import v3_key

PHONE = "+14155550100"


def test_the_v3_record_and_job_follow_the_storage_contract(
    start: Callable[..., Any], redis_client: redis.Redis, keyring: Keyring,
    outbox_codes: Callable[[str], list[str]], stream: Callable[[str], Any],
) -> None:
    body = start().get_json()
    vid = body["id"]
    dest_hash = keyring.dest_hash("sms", PHONE)
    dest_key = keyring.dest_key("tests", dest_hash)
    assert vid.startswith("VE" + dest_key) and len(vid) == 34
    record = packed.unpack(str(redis_client.get(v3_key(vid))))
    code = outbox_codes(vid)[0]
    assert record == packed.Packed(
        rand=vid[18:], to=PHONE, channel="sms", locale="", reference="", status="pending",
        code_mac16=keyring.code_mac16(code), code_sealed=keyring.seal_code_v3(vid, code),
        send_attempts=1, check_attempts=0, created_at=record.created_at, ttl=120_000,
        sent_offset=0,
    )
    assert 179_000 < redis_client.pttl(v3_key(vid)) <= 180_000
    assert not redis_client.exists(f"vfy:ver:{vid}", f"vfy:pending:tests:{dest_hash}")
    outbox = keys.v3_outbox(keys.bucket(dest_key))
    [(_entry_id, job)] = stream(outbox)
    assert job == {"verification_id": vid, "channel": "sms", "to": PHONE, "locale": "",
                   "code_sealed": record.code_sealed, "send_attempt": "1",
                   "enqueued_at": str(record.created_at), "client": "tests"}
    assert 7 * 86_400_000 - 1000 < redis_client.pttl(outbox) <= 7 * 86_400_000
    assert not redis_client.exists("vfy:outbox")
    assert redis_client.get(f"vfy:rl:dest:{dest_hash}") == "1"
    assert redis_client.get(f"vfy:rl:ip:{keyring.ip_hash('127.0.0.1')}") == "1"
    assert redis_client.get("vfy:rl:client:tests") == "1"
    assert redis_client.memory_usage(v3_key(vid)) <= 256  # type: ignore[operator]


@pytest.mark.single_node("version-2 data: in cluster mode the writer creates version 3 whatever "
                         "VERIFY_STORAGE_WRITE_VERSION says")
def test_writer_version_2_creates_the_v2_record_index_and_job(
    make_app: Callable[..., Flask], redis_client: redis.Redis, keyring: Keyring,
    outbox_codes: Callable[[str], list[str]], stream: Callable[[str], Any],
) -> None:
    client = make_app(storage_write_version=2).test_client()
    body = client.post("/api/verifications", json={"to": PHONE, "channel": "sms"}).get_json()
    vid = body["id"]
    record = redis_client.hgetall(f"vfy:ver:{vid}")
    code = outbox_codes(vid)[0]
    dest_hash = keyring.dest_hash("sms", PHONE)
    assert set(record) == {"v", "id", "client", "to", "channel", "locale", "reference", "status",
                           "code_mac", "code_sealed", "dest_hash", "send_attempts",
                           "check_attempts", "created_at", "expires_at", "last_sent_at",
                           "prefix_hash"}
    assert record["v"] == "2" and record["locale"] == "" and record["dest_hash"] == dest_hash
    assert record["prefix_hash"] == keyring.prefix_hash(PHONE)
    assert record["client"] == "tests" and record["reference"] == ""
    assert record["code_mac"] == keyring.code_mac(code)
    assert int(record["expires_at"]) - int(record["created_at"]) == 120_000
    assert record["last_sent_at"] == record["created_at"]
    assert redis_client.get(f"vfy:pending:tests:{dest_hash}") == vid
    assert not redis_client.exists(v3_key(vid))
    assert 119_000 < redis_client.pttl(f"vfy:pending:tests:{dest_hash}") <= 120_000
    assert 179_000 < redis_client.pttl(f"vfy:ver:{vid}") <= 180_000
    [(_entry_id, job)] = stream("vfy:outbox")
    assert job == {"verification_id": vid, "channel": "sms", "to": PHONE, "locale": "",
                   "code_sealed": record["code_sealed"], "send_attempt": "1",
                   "enqueued_at": record["created_at"]}
    assert redis_client.get(f"vfy:rl:dest:{dest_hash}") == "1"
    assert redis_client.get(f"vfy:rl:ip:{keyring.ip_hash('127.0.0.1')}") == "1"
    assert redis_client.get("vfy:rl:client:tests") == "1"


def test_a_resend_enqueues_the_same_sealed_code_and_counts_toward_the_limit(
    start: Callable[..., Any], redis_client: redis.Redis, keyring: Keyring,
    outbox_codes: Callable[[str], list[str]], stream: Callable[[str], Any],
) -> None:
    vid = start().get_json()["id"]
    assert start().status_code == 200
    codes = outbox_codes(vid)
    assert len(codes) == 2 and codes[0] == codes[1]
    outbox = keys.v3_outbox(keys.bucket(vid[2:18]))
    assert [fields["send_attempt"] for _id, fields in stream(outbox)] == ["1", "2"]
    record = packed.unpack(str(redis_client.get(v3_key(vid))))
    assert record.send_attempts == 2 and record.sent_offset >= 0
    assert redis_client.get(f"vfy:rl:dest:{keyring.dest_hash('sms', PHONE)}") == "2"


def test_forwarded_for_counts_only_behind_a_trusted_proxy(
    make_app: Callable[..., Flask],
) -> None:
    from monolith.settings import parse_trusted_proxies

    client = make_app(ip_limit=1, trusted_proxies=parse_trusted_proxies("10.0.0.0/8")).test_client()

    def send(n: int, peer: str, forwarded: str) -> int:
        return int(client.post(
            "/api/verifications", json={"to": f"+1415555{n:04d}", "channel": "sms"},
            headers={"X-Forwarded-For": forwarded}, environ_base={"REMOTE_ADDR": peer},
        ).status_code)

    assert send(0, "10.0.0.5", "203.0.113.1") == 201
    assert send(1, "10.0.0.5", "203.0.113.2") == 201  # another client behind the proxy
    assert send(2, "10.0.0.5", "203.0.113.1") == 429  # the first one again
    assert send(3, "198.51.100.9", "203.0.113.3") == 201  # untrusted peer: header ignored
    assert send(4, "198.51.100.9", "203.0.113.4") == 429  # ... so it cannot change its IP
