"""The monolith's version-3 keys, ids, seals and packed-record codec against the golden vectors
(docs/storage-contract-vectors.json, key "v3")."""

from __future__ import annotations

import re
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag

from monolith import keys, packed
from monolith.crypto import Keyring, new_v3_verification_id
from monolith.rendering import render_verification


@pytest.fixture
def v3(vectors: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = vectors["v3"]
    return found


@pytest.fixture
def keyring(vectors: dict[str, Any]) -> Keyring:
    return Keyring(vectors["pepper"])


def test_constants(v3: dict[str, Any]) -> None:
    assert v3["buckets"] == keys.BUCKETS == 64
    assert v3["dead_letter"] == "vfy:outbox:dead"
    assert v3["tally_block_field"] == keys.TALLY_BLOCK_FIELD
    assert v3["outbox_group"] == "dispatchers" and v3["events_group"] == keys.EVENTS_GROUP
    assert len(keys.v3_outboxes()) == len(set(keys.v3_outboxes())) == 64


def test_dest_keys_buckets_and_key_names(keyring: Keyring, v3: dict[str, Any]) -> None:
    assert len(v3["dest_keys"]) >= 8
    for case in v3["dest_keys"]:
        client = case["client"]
        dest_hash = keyring.dest_hash(case["channel"], case["normalized_to"])
        assert dest_hash == case["dest_hash"]
        dest_key = keyring.dest_key(client, dest_hash)
        assert dest_key == case["dest_key"]
        assert keys.bucket(dest_key) == case["bucket"]
        assert keys.v3_record(client, dest_key) == case["record_key"]
        assert keys.v3_retained(client, dest_key) == case["retained_key"]
        assert keys.v3_failed_checks(client, dest_key) == case["failed_checks_key"]
        assert keys.v3_outbox(case["bucket"]) == case["outbox"]
        assert keys.v3_events(case["bucket"]) == case["events"]
        assert keys.pending(client, dest_hash) == case["v2_pending_key"]
        assert keys.failed_checks(client, dest_hash) == case["v2_failed_checks_key"]


def test_v3_seals(keyring: Keyring, v3: dict[str, Any]) -> None:
    for case in v3["seals"]:
        vid = case["verification_id"]
        assert vid == "VE" + case["dest_key"] + case["rand"]
        assert keyring.seal_code_v3(vid, case["code"]) == case["code_sealed"]
        assert keyring.open_seal_v3(vid, case["code_sealed"]) == case["code"]
        with pytest.raises(InvalidTag):
            keyring.open_seal_v3(vid[:-1] + "0" if vid[-1] != "0" else vid[:-1] + "1",
                                 case["code_sealed"])


def test_packed_records_both_ways(keyring: Keyring, v3: dict[str, Any]) -> None:
    assert len(v3["records"]) >= 2
    for case in v3["records"]:
        fields = case["fields"]
        record = packed.unpack(case["packed"])
        assert record == packed.Packed(**fields)
        assert packed.pack(record) == case["packed"]
        assert keyring.code_mac16(case["code"]) == fields["code_mac16"]
        assert keyring.seal_code_v3(case["verification_id"], case["code"]) == (
            fields["code_sealed"])
        dest_key = case["verification_id"][2:18]
        assert keys.v3_record(case["client"], dest_key) == case["key"]
        assert render_verification(record.as_record(case["verification_id"])) == case["renders"]


def test_a_length_prefixed_field_may_hold_bars_and_colons() -> None:
    record = packed.Packed("0" * 16, "+14155550100", "sms", "", "a|b:c|", "pending",
                           "m" * 22, "s" * 30, 1, 0, 1, 600_000, 0)
    text = packed.pack(record)
    assert "|6:a|b:c||" in text and packed.unpack(text) == record
    unicode_ref = packed.Packed(**{**record.__dict__, "reference": "caf\u00e9"})
    assert "|5:caf\u00e9|" in packed.pack(unicode_ref)  # the length counts UTF-8 bytes
    assert packed.unpack(packed.pack(unicode_ref)) == unicode_ref


@pytest.mark.parametrize("broken", [
    "", "5f0e|12:+1415555010|s", "5f0e9a2c4b7d1e38|12:+14155550100|s|0:|0:|p|m|s|1|0|1|2|3|4",
    "5f0e9a2c4b7d1e38|12:+14155550100|q|0:|0:|p|m|s|1|0|1|2|3",
])
def test_what_is_not_a_packed_record_is_refused(broken: str) -> None:
    with pytest.raises(packed.NotPacked):
        packed.unpack(broken)


def test_v3_ids_name_their_destination_key(keyring: Keyring) -> None:
    dest_key = keyring.dest_key("acme", keyring.dest_hash("sms", "+14155550100"))
    vid = new_v3_verification_id(dest_key)
    assert re.fullmatch(r"VE[0-9a-f]{32}", vid) and vid[2:18] == dest_key
    assert vid != new_v3_verification_id(dest_key)


def test_v3_events_vector_fields(v3: dict[str, Any], keyring: Keyring) -> None:
    [event] = v3["events"]
    assert list(event) == ["schema", "type", "verification_id", "channel", "dest_key", "client",
                           "reference", "occurred_at"]
    assert event["schema"] == "3" and event["verification_id"][2:18] == event["dest_key"]
