"""Every golden vector of docs/storage-contract-vectors.json, computed with our own code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.verification import crypto, keys
from services.verification.errors import InvalidParameter
from services.verification.rendering import render_verification, snapshot_from_hash
from services.verification.validation import parse_check_body, parse_send_body

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[3] / "docs" / "storage-contract-vectors.json").read_text("utf-8")
)
PEPPER: str = VECTORS["pepper"]


def test_contract_version_is_three() -> None:
    assert VECTORS["contract_version"] == 3 == keys.CONTRACT_VERSION
    assert VECTORS["reads_versions"] == [2, 3] == list(keys.READS_VERSIONS)  # v1 no longer read


def test_seal_key() -> None:
    assert crypto.seal_key(PEPPER).hex() == VECTORS["seal_key_hex"]


@pytest.mark.parametrize("vector", VECTORS["codes"], ids=lambda v: v["code"])
def test_code_mac(vector: dict[str, str]) -> None:
    assert crypto.code_mac(PEPPER, vector["code"]) == vector["code_mac"]


@pytest.mark.parametrize("vector", VECTORS["client_ips"], ids=lambda v: v["ip"])
def test_ip_hash(vector: dict[str, str]) -> None:
    assert crypto.ip_limit_subject(vector["ip"]) == vector["ip_limit_subject"]
    assert crypto.ip_hash(PEPPER, vector["ip"]) == vector["ip_hash"]
    assert keys.ip_limit_key(vector["ip_hash"]) == vector["ip_limit_key"]


@pytest.mark.parametrize("vector", VECTORS["destinations"], ids=lambda v: v["to"])
def test_send_and_check_by_to_name_the_same_keys(vector: dict[str, str]) -> None:
    sent = parse_send_body({"to": vector["to"], "channel": vector["channel"]})
    assert sent.to == vector["normalized_to"]
    dest_hash = crypto.dest_hash(PEPPER, vector["channel"], sent.to)
    assert dest_hash == vector["dest_hash"]
    assert keys.dest_limit_key(dest_hash) == vector["dest_limit_key"]
    # A check by `to` reads the channel from the form and finds the same pending key.
    check = parse_check_body({"to": vector["to"], "code": "123456"})
    assert (check.channel, check.to) == (vector["channel"], vector["normalized_to"])


@pytest.mark.parametrize("vector", VECTORS["invalid_destinations"], ids=lambda v: v["to"])
def test_invalid_destinations_are_refused_on_send_and_check(vector: dict[str, str]) -> None:
    for parse, body in [(parse_send_body, {"to": vector["to"], "channel": vector["channel"]}),
                        (parse_check_body, {"to": vector["to"], "code": "123456"})]:
        with pytest.raises(InvalidParameter) as raised:
            parse(body)
        assert raised.value.field == "to"


@pytest.mark.parametrize("vector", VECTORS["idempotency_keys_v2"],
                         ids=lambda v: f"{v['client']}-{v['idempotency_key']}")
def test_idem_hash_v2_is_the_clients_own(vector: dict[str, str]) -> None:
    assert crypto.idem_hash(PEPPER, vector["client"], vector["idempotency_key"]) == \
        vector["idem_hash"]
    assert keys.idempotency_key(vector["idem_hash"]) == vector["key"]


@pytest.mark.parametrize("vector", VECTORS["client_keys"], ids=lambda v: v["client"])
def test_v2_key_names_of_a_client(vector: dict[str, str]) -> None:
    client, dest_hash = vector["client"], vector["dest_hash"]
    assert keys.pending_key(client, dest_hash) == vector["pending_key"]
    assert keys.failed_checks_key(client, dest_hash) == vector["failed_checks_key"]
    assert keys.client_limit_key(client) == vector["client_limit_key"]


@pytest.mark.parametrize("vector", VECTORS["sms_guards"]["prefixes"],
                         ids=lambda v: v["normalized_to"])
def test_prefix_hash_and_guard_keys(vector: dict[str, str]) -> None:
    assert crypto.number_prefix(vector["normalized_to"]) == vector["number_prefix"]
    prefix_hash = crypto.prefix_hash(PEPPER, vector["normalized_to"])
    assert prefix_hash == vector["prefix_hash"]
    assert keys.prefix_limit_key(prefix_hash) == vector["prefix_limit_key"]
    assert keys.tally_key(prefix_hash) == vector["tally_key"]
    assert keys.block_key(prefix_hash) == vector["block_key"]


def test_the_global_sms_counter() -> None:
    assert VECTORS["sms_guards"]["global_key"] == keys.SMS_LIMIT_KEY


@pytest.mark.parametrize("vector", VECTORS["sms_guards"]["tally_buckets"],
                         ids=lambda v: f"{v['now_ms']}-{v['window_seconds']}")
def test_tally_bucket_arithmetic(vector: dict[str, int | str]) -> None:
    """What the send and check scripts are given (bucket ms, buckets counted, field prefixes)
    makes the vector's fields; the scripts divide Redis' now by the bucket ms."""
    bucket_ms = keys.tally_bucket_ms(int(vector["window_seconds"]))
    assert bucket_ms == vector["bucket_ms"]
    bucket = int(vector["now_ms"]) // bucket_ms
    assert bucket == vector["bucket"]
    assert keys.TALLY_SENT_FIELD_PREFIX + str(bucket) == vector["sent_field"]
    assert keys.TALLY_APPROVED_FIELD_PREFIX + str(bucket) == vector["approved_field"]
    assert bucket - (keys.TALLY_BUCKETS - 1) == vector["oldest_counted_bucket"]


# Version 1 is no longer read: only the version-2 records' vectors apply.
V2_RECORDS = [vector for vector in VECTORS["records"] if vector["version"] == 2]


@pytest.mark.parametrize("vector", V2_RECORDS, ids=lambda v: f"v{v['version']}")
def test_a_records_prefix_hash(vector: dict[str, Any]) -> None:
    """Version 2 records carry the prefix_hash of an SMS destination."""
    fields = vector["fields"]
    assert fields["channel"] == "sms"
    assert crypto.prefix_hash(PEPPER, fields["to"]) == fields["prefix_hash"]


@pytest.mark.parametrize("vector", VECTORS["request_bodies"], ids=lambda v: v["request_hash"][:8])
def test_request_hash(vector: dict[str, Any]) -> None:
    assert crypto.canonical_json(vector["body"]) == vector["canonical_json"]
    got = crypto.request_hash(PEPPER, vector["method"], vector["path"], vector["body"])
    assert got == vector["request_hash"]


@pytest.mark.parametrize("vector", VECTORS["seals"], ids=lambda v: v["verification_id"])
def test_seal_and_open(vector: dict[str, str]) -> None:
    nonce = bytes.fromhex(vector["nonce_hex"])
    sealed = crypto.seal_code(PEPPER, vector["verification_id"], vector["code"], nonce)
    assert sealed == vector["code_sealed"]
    assert crypto.open_sealed_code(PEPPER, vector["verification_id"], sealed) == vector["code"]


def test_fresh_seals_differ_and_open() -> None:
    first = crypto.seal_code(PEPPER, "VE" + "a" * 32, "424242")
    second = crypto.seal_code(PEPPER, "VE" + "a" * 32, "424242")
    assert first != second
    assert crypto.open_sealed_code(PEPPER, "VE" + "a" * 32, second) == "424242"


def _flip_last_tag_char(sealed: str) -> str:
    return sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]


@pytest.mark.parametrize(
    ("pepper", "verification_id", "mutate"),
    [
        ("other-pepper", "VE0123456789abcdef0123456789abcdef", lambda s: s),
        (PEPPER, "VEffffffffffffffffffffffffffffffff", lambda s: s),
        (PEPPER, "VE0123456789abcdef0123456789abcdef", _flip_last_tag_char),
        (PEPPER, "VE0123456789abcdef0123456789abcdef", lambda s: s[:10]),
        (PEPPER, "VE0123456789abcdef0123456789abcdef", lambda s: "!!not base64!!"),
    ],
    ids=["wrong-pepper", "wrong-id", "tampered", "truncated", "garbage"],
)
def test_bad_seal_raises(pepper: str, verification_id: str, mutate: Any) -> None:
    sealed = VECTORS["seals"][0]["code_sealed"]
    with pytest.raises(crypto.SealError):
        crypto.open_sealed_code(pepper, verification_id, mutate(sealed))


@pytest.mark.parametrize("vector", V2_RECORDS, ids=lambda v: f"v{v['version']}")
def test_a_record_renders_as_its_vector(vector: dict[str, Any]) -> None:
    """The verification body of a stored version-2 record."""
    assert render_verification(snapshot_from_hash(vector["fields"])) == vector["renders"]


@pytest.mark.parametrize("code", ["0000", "123456", "9876543210"])
def test_one_hmac_gives_both_code_macs(code: str) -> None:
    assert crypto.code_macs("pepper-x", code) == (
        crypto.code_mac16("pepper-x", code), crypto.code_mac("pepper-x", code))
