"""The bench's own copy of the storage contract, against the golden vectors ("v3" first, then
the version-2 facts the bench still uses)."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench import contract

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[3] / "docs" / "storage-contract-vectors.json").read_text("utf-8"))
PEPPER: str = VECTORS["pepper"]
V3: dict[str, Any] = VECTORS["v3"]
CHANNEL_LETTER = {"sms": "s", "email": "e"}
STATUS_LETTER = {"pending": "p", "approved": "a", "canceled": "c",
                 "max_attempts_reached": "m", "expired": "x"}


def test_contract_version() -> None:
    assert str(VECTORS["contract_version"]) == contract.CONTRACT_VERSION == "3"
    assert V3["buckets"] == contract.BUCKETS


@pytest.mark.parametrize("vector", V3["dest_keys"],
                         ids=lambda v: f"{v['client']}-{v['normalized_to']}")
def test_v3_dest_key_bucket_and_key_names(vector: dict[str, Any]) -> None:
    digest = contract.dest_hash(PEPPER, vector["channel"], vector["normalized_to"])
    assert digest == vector["dest_hash"]
    dest_key = contract.dest_key(PEPPER, vector["client"], digest)
    assert dest_key == vector["dest_key"]
    assert contract.bucket_of(dest_key) == vector["bucket"]
    assert contract.record_key(vector["client"], dest_key) == vector["record_key"]
    assert contract.retained_key(vector["client"], dest_key) == vector["retained_key"]
    assert contract.failed_checks_key(vector["client"], dest_key) == vector["failed_checks_key"]
    assert contract.outbox_stream(vector["bucket"]) == vector["outbox"]
    assert contract.events_stream(vector["bucket"]) == vector["events"]
    assert contract.v2_pending_key(vector["client"], digest) == vector["v2_pending_key"]
    assert contract.v2_failed_checks_key(vector["client"], digest) \
        == vector["v2_failed_checks_key"]


def test_v3_key_patterns_match_the_vectors_key_names() -> None:
    vector = V3["dest_keys"][0]
    # Redis MATCH globbing treats `{` and `}` literally, as fnmatch does.
    assert fnmatch.fnmatchcase(vector["record_key"], contract.V3_RECORD_PATTERN)
    assert not fnmatch.fnmatchcase(vector["retained_key"], contract.V3_RECORD_PATTERN)
    assert fnmatch.fnmatchcase(vector["failed_checks_key"], contract.V3_FAILED_CHECKS_PATTERN)
    assert fnmatch.fnmatchcase(vector["outbox"], contract.V3_OUTBOX_PATTERN)


@pytest.mark.parametrize("vector", V3["seals"], ids=lambda v: v["verification_id"])
def test_v3_seal_matches_and_opens(vector: dict[str, str]) -> None:
    verification_id = vector["verification_id"]
    assert contract.dest_key_of_id(verification_id) == vector["dest_key"]
    assert contract.rand_of_id(verification_id) == vector["rand"]
    assert contract.seal_nonce_v3(PEPPER, verification_id).hex() == vector["nonce_hex"]
    aead = AESGCM(contract.seal_key(PEPPER))
    sealed = contract.seal_v3(aead, PEPPER, verification_id, vector["code"])
    assert sealed == vector["code_sealed"]
    assert contract.open_seal_v3(aead, PEPPER, verification_id, sealed) == vector["code"]


@pytest.mark.parametrize("vector", V3["records"], ids=lambda v: v["verification_id"])
def test_v3_packed_record(vector: dict[str, Any]) -> None:
    fields = vector["fields"]
    assert contract.code_mac16(PEPPER, vector["code"]) == fields["code_mac16"]
    record = contract.Packed(
        fields["rand"], fields["to"], CHANNEL_LETTER[fields["channel"]], fields["locale"],
        fields["reference"], STATUS_LETTER[fields["status"]], fields["code_mac16"],
        fields["code_sealed"], fields["send_attempts"], fields["check_attempts"],
        fields["created_at"], fields["ttl"], fields["sent_offset"])
    assert contract.pack(record) == vector["packed"]
    assert contract.packed_to(vector["packed"]) == fields["to"]
    dest_key = contract.dest_key_of_id(vector["verification_id"])
    assert contract.record_key(vector["client"], dest_key) == vector["key"]


def test_pending_sms_is_what_send_creates() -> None:
    vector = V3["records"][0]
    fields = vector["fields"]
    packed = contract.pending_sms(fields["rand"], fields["to"], fields["code_mac16"],
                                  fields["code_sealed"], fields["created_at"], fields["ttl"])
    # The vector carries a reference; the bench's sends carry none.
    assert packed == vector["packed"].replace("|8:order-42|", "|0:|")


def test_v3_ids_name_their_destination() -> None:
    ids = {contract.new_id("b546b221bd449fe8") for _ in range(100)}
    assert len(ids) == 100
    for verification_id in ids:
        assert len(verification_id) == 34 and verification_id.startswith("VEb546b221bd449fe8")
        rand = contract.rand_of_id(verification_id)
        assert len(rand) == 16 and int(rand, 16) >= 0 and rand == rand.lower()


# -- version 2 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS["codes"], ids=lambda v: v["code"])
def test_code_mac(vector: dict[str, str]) -> None:
    assert contract.code_mac(PEPPER, vector["code"]) == vector["code_mac"]


@pytest.mark.parametrize("vector", VECTORS["destinations"], ids=lambda v: v["channel"])
def test_dest_hash_and_counter_names(vector: dict[str, str]) -> None:
    digest = contract.dest_hash(PEPPER, vector["channel"], vector["normalized_to"])
    assert digest == vector["dest_hash"]
    assert contract.DEST_LIMIT_PREFIX + digest == vector["dest_limit_key"]


@pytest.mark.parametrize("vector", VECTORS["sms_guards"]["prefixes"],
                         ids=lambda v: v["normalized_to"])
def test_prefix_hash(vector: dict[str, str]) -> None:
    assert contract.prefix_hash(PEPPER, vector["normalized_to"]) == vector["prefix_hash"]


@pytest.mark.parametrize("vector", VECTORS["client_keys"], ids=lambda v: v["client"])
def test_v2_pending_key_of_a_client(vector: dict[str, str]) -> None:
    assert contract.v2_pending_key(vector["client"], vector["dest_hash"]) == vector["pending_key"]


def test_ip_limit_and_v2_outbox_names() -> None:
    assert VECTORS["client_ips"][0]["ip_limit_key"].startswith(contract.IP_LIMIT_PREFIX)
    assert VECTORS["streams"]["outbox"] == contract.V2_OUTBOX


@pytest.mark.parametrize("vector", VECTORS["seals"], ids=lambda v: v["verification_id"])
def test_v2_seal_matches_and_opens(vector: dict[str, str]) -> None:
    assert contract.seal_key(PEPPER).hex() == VECTORS["seal_key_hex"]
    aead = AESGCM(contract.seal_key(PEPPER))
    sealed = contract.seal_v2(aead, vector["verification_id"], vector["code"],
                              bytes.fromhex(vector["nonce_hex"]))
    assert sealed == vector["code_sealed"]
    assert contract.open_seal_v2(aead, vector["verification_id"], sealed) == vector["code"]
    assert contract.v2_record_key(vector["verification_id"]) == vector["record_key"]


def test_v2_ids_have_the_contract_form() -> None:
    ids = {contract.v2_new_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) == 34 and i.startswith("VE") and int(i[2:], 16) >= 0 for i in ids)
    assert all(i[2:] == i[2:].lower() for i in ids)
