"""The version-3 golden vectors (docs/storage-contract-vectors.json "v3"), computed with our own
code: destination keys, buckets and key names, seals, packed records both ways, the event."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.verification import crypto, keys, packed
from services.verification.rendering import render_verification

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[3] / "docs" / "storage-contract-vectors.json").read_text("utf-8")
)
PEPPER: str = VECTORS["pepper"]
V3: dict[str, Any] = VECTORS["v3"]


def test_bucket_count_groups_and_fields() -> None:
    assert V3["buckets"] == keys.BUCKETS
    assert (V3["dead_letter"], V3["outbox_group"], V3["events_group"]) == (
        keys.DEAD_LETTER_STREAM, keys.OUTBOX_GROUP, keys.MONOLITH_EVENTS_GROUP)
    assert V3["tally_block_field"] == keys.TALLY_BLOCK_FIELD


@pytest.mark.parametrize("vector", V3["dest_keys"],
                         ids=lambda v: f"{v['client']}-{v['normalized_to']}")
def test_dest_key_bucket_and_key_names(vector: dict[str, Any]) -> None:
    client = vector["client"]
    dest_hash = crypto.dest_hash(PEPPER, vector["channel"], vector["normalized_to"])
    assert dest_hash == vector["dest_hash"]
    dest_key = crypto.dest_key(PEPPER, client, dest_hash)
    assert dest_key == vector["dest_key"]
    assert keys.bucket_of(dest_key) == vector["bucket"]
    assert keys.v3_record_key(client, dest_key) == vector["record_key"]
    assert keys.v3_retained_key(client, dest_key) == vector["retained_key"]
    assert keys.v3_failed_checks_key(client, dest_key) == vector["failed_checks_key"]
    assert keys.v3_outbox_stream(vector["bucket"]) == vector["outbox"]
    assert keys.v3_events_stream(vector["bucket"]) == vector["events"]
    assert keys.pending_key(client, dest_hash) == vector["v2_pending_key"]
    assert keys.failed_checks_key(client, dest_hash) == vector["v2_failed_checks_key"]
    # An id of this destination names the same keys, without a lookup.
    verification_id = "VE" + dest_key + "0123456789abcdef"
    assert keys.dest_key_of_id(verification_id) == dest_key
    assert keys.v3_bucket_of_id(verification_id) == vector["bucket"]


@pytest.mark.parametrize("vector", V3["seals"], ids=lambda v: v["verification_id"])
def test_v3_seal_both_ways(vector: dict[str, str]) -> None:
    verification_id = vector["verification_id"]
    assert keys.dest_key_of_id(verification_id) == vector["dest_key"]
    assert keys.rand_of_id(verification_id) == vector["rand"]
    assert crypto.v3_nonce(PEPPER, verification_id).hex() == vector["nonce_hex"]
    assert crypto.seal_code_v3(PEPPER, verification_id, vector["code"]) == vector["code_sealed"]
    assert crypto.open_sealed_code_v3(PEPPER, verification_id, vector["code_sealed"]) == \
        vector["code"]


@pytest.mark.parametrize("vector", V3["records"], ids=lambda v: v["verification_id"])
def test_packed_record_both_ways_and_its_rendering(vector: dict[str, Any]) -> None:
    verification_id = vector["verification_id"]
    record = packed.PackedRecord(**vector["fields"])
    assert packed.pack(record) == vector["packed"]
    assert packed.unpack(vector["packed"]) == record
    assert record.rand == keys.rand_of_id(verification_id)
    assert keys.v3_record_key(vector["client"], keys.dest_key_of_id(verification_id)) == \
        vector["key"]
    assert record.code_mac16 == crypto.code_mac16(PEPPER, vector["code"])
    assert record.code_sealed == crypto.seal_code_v3(PEPPER, verification_id, vector["code"])
    assert render_verification(record.snapshot(verification_id)) == vector["renders"]


def test_a_v3_id_has_its_destination_key_and_a_random_half() -> None:
    from services.verification.codes import new_v3_verification_id
    from services.verification.validation import is_verification_id

    first, second = new_v3_verification_id("b546b221bd449fe8"), new_v3_verification_id(
        "b546b221bd449fe8")
    assert is_verification_id(first)  # docs/api.md's VE + 32 hex
    assert first[:18] == "VEb546b221bd449fe8" and first != second


@pytest.mark.parametrize("vector", V3["events"], ids=lambda v: v["type"])
def test_the_event(vector: dict[str, str]) -> None:
    assert vector["schema"] == str(keys.V3_EVENT_SCHEMA)
    assert list(vector) == ["schema", "type", "verification_id", "channel", "dest_key", "client",
                            "reference", "occurred_at"]
    assert keys.dest_key_of_id(vector["verification_id"]) == vector["dest_key"]
    (record,) = [r for r in V3["records"] if r["verification_id"] == vector["verification_id"]]
    dest_hash = crypto.dest_hash(PEPPER, vector["channel"], record["fields"]["to"])
    assert crypto.dest_key(PEPPER, vector["client"], dest_hash) == vector["dest_key"]
    assert vector["reference"] == record["fields"]["reference"]
