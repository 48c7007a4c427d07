"""The monolith's own hashes, seal and key names against every golden vector of the contract."""

from __future__ import annotations

import re
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag

from monolith import keys
from monolith.crypto import (
    Keyring,
    canonical_json,
    generate_code,
    ip_limit_subject,
    new_user_id,
    new_verification_id,
    number_prefix,
)
from monolith.problems import Problem
from monolith.rendering import render_time, render_verification
from monolith.settings import Settings
from monolith.validation import normalize_to, parse_check, parse_send


@pytest.fixture
def keyring(vectors: dict[str, Any]) -> Keyring:
    return Keyring(vectors["pepper"])


def test_contract_version_is_the_one_implemented(vectors: dict[str, Any]) -> None:
    assert vectors["contract_version"] == 3
    assert vectors["reads_versions"] == [2, 3]  # version-1 records are no longer read


def test_seal_key(keyring: Keyring, vectors: dict[str, Any]) -> None:
    assert keyring.seal_key().hex() == vectors["seal_key_hex"]


def test_code_macs(keyring: Keyring, vectors: dict[str, Any]) -> None:
    assert len(vectors["codes"]) >= 4
    for case in vectors["codes"]:
        assert keyring.code_mac(case["code"]) == case["code_mac"]


def test_destinations_normalize_hash_and_name_keys(
    keyring: Keyring, vectors: dict[str, Any]
) -> None:
    for case in vectors["destinations"]:
        normalized = normalize_to(case["channel"], case["to"])
        assert normalized == case["normalized_to"]
        dest_hash = keyring.dest_hash(case["channel"], normalized)
        assert dest_hash == case["dest_hash"]
        assert keys.dest_limit(dest_hash) == case["dest_limit_key"]


def test_a_check_by_to_finds_what_a_send_stored(
    keyring: Keyring, vectors: dict[str, Any]
) -> None:
    """The channel read from a check's `to` and its normalized form name the same keys."""
    for case in vectors["destinations"]:
        check = parse_check({"to": case["to"], "code": "123456"})
        assert (check.channel, check.to) == (case["channel"], case["normalized_to"])
        assert keyring.dest_hash(case["channel"], str(check.to)) == case["dest_hash"]


def test_invalid_destinations_are_refused_on_send_and_check(vectors: dict[str, Any]) -> None:
    for case in vectors["invalid_destinations"]:
        for parse, body in [(parse_send, {"to": case["to"], "channel": case["channel"]}),
                            (parse_check, {"to": case["to"], "code": "123456"})]:
            with pytest.raises(Problem) as raised:
                parse(body)
            assert (raised.value.code, raised.value.field) == ("invalid_parameter", "to"), case


def test_ip_hashes(keyring: Keyring, vectors: dict[str, Any]) -> None:
    for case in vectors["client_ips"]:
        assert ip_limit_subject(case["ip"]) == case["ip_limit_subject"]
        assert keyring.ip_hash(case["ip"]) == case["ip_hash"]
        assert keys.ip_limit(case["ip_hash"]) == case["ip_limit_key"]


def test_idempotency_hashes_are_scoped_per_client(
    keyring: Keyring, vectors: dict[str, Any]
) -> None:
    for case in vectors["idempotency_keys_v2"]:
        digest = keyring.idem_hash(case["client"], case["idempotency_key"])
        assert digest == case["idem_hash"]
        assert keys.idempotency(digest) == case["key"]


def test_v2_key_names_of_a_client(vectors: dict[str, Any]) -> None:
    for case in vectors["client_keys"]:
        client, dest_hash = case["client"], case["dest_hash"]
        assert keys.pending(client, dest_hash) == case["pending_key"]
        assert keys.failed_checks(client, dest_hash) == case["failed_checks_key"]
        assert keys.client_limit(client) == case["client_limit_key"]


def test_v2_key_names() -> None:
    assert keys.pending("acme", "ab" * 16) == "vfy:pending:acme:" + "ab" * 16
    assert keys.failed_checks("acme", "ab" * 16) == "vfy:rl:fail:acme:" + "ab" * 16
    assert keys.client_limit("acme") == "vfy:rl:client:acme"


def test_sms_guard_prefixes_hashes_and_keys(keyring: Keyring, vectors: dict[str, Any]) -> None:
    guards = vectors["sms_guards"]
    assert guards["global_key"] == keys.SMS_LIMIT
    assert len(guards["prefixes"]) >= 4
    for case in guards["prefixes"]:
        assert number_prefix(case["normalized_to"]) == case["number_prefix"]
        prefix_hash = keyring.prefix_hash(case["normalized_to"])
        assert prefix_hash == case["prefix_hash"]
        assert keys.prefix_limit(prefix_hash) == case["prefix_limit_key"]
        assert keys.tally(prefix_hash) == case["tally_key"]
        assert keys.prefix_block(prefix_hash) == case["block_key"]


def test_sms_guard_tally_bucket_length(vectors: dict[str, Any]) -> None:
    """The bucket length the send and check scripts are given (they take `now` from Redis)."""
    for case in vectors["sms_guards"]["tally_buckets"]:
        settings = Settings(prefix_guard_window_seconds=case["window_seconds"])
        assert settings.prefix_guard_bucket_ms == case["bucket_ms"]


def test_a_v2_sms_record_holds_its_prefix_hash(keyring: Keyring, vectors: dict[str, Any]) -> None:
    [record] = [r for r in vectors["records"] if r["version"] == 2]
    fields = record["fields"]
    assert fields["channel"] == "sms"
    assert keyring.prefix_hash(fields["to"]) == fields["prefix_hash"]


def test_request_hashes_and_canonical_json(keyring: Keyring, vectors: dict[str, Any]) -> None:
    for case in vectors["request_bodies"]:
        assert canonical_json(case["body"]) == case["canonical_json"]
        got = keyring.request_hash(case["method"], case["path"], case["body"])
        assert got == case["request_hash"]


def test_seals_with_fixed_nonce_and_opening_them(
    keyring: Keyring, vectors: dict[str, Any]
) -> None:
    for case in vectors["seals"]:
        nonce = bytes.fromhex(case["nonce_hex"])
        sealed = keyring.seal_code(case["verification_id"], case["code"], nonce)
        assert sealed == case["code_sealed"]
        assert keyring.open_seal(case["verification_id"], case["code_sealed"]) == case["code"]
        assert keys.record(case["verification_id"]) == case["record_key"]


def test_a_seal_is_bound_to_its_verification_and_pepper(keyring: Keyring) -> None:
    sealed = keyring.seal_code("VE" + "0" * 32, "123456")
    with pytest.raises(InvalidTag):
        keyring.open_seal("VE" + "1" * 32, sealed)
    with pytest.raises(InvalidTag):
        Keyring("another-pepper").open_seal("VE" + "0" * 32, sealed)


def test_each_seal_has_a_fresh_nonce(keyring: Keyring) -> None:
    first = keyring.seal_code("VE" + "0" * 32, "123456")
    second = keyring.seal_code("VE" + "0" * 32, "123456")
    assert first != second
    assert "=" not in first
    assert keyring.open_seal("VE" + "0" * 32, second) == "123456"


def test_stream_names(vectors: dict[str, Any]) -> None:
    streams = vectors["streams"]
    assert streams["outbox"] == keys.OUTBOX
    assert streams["events"] == keys.EVENTS
    assert streams["monolith_events_group"] == keys.EVENTS_GROUP


def test_time_rendering(vectors: dict[str, Any]) -> None:
    for case in vectors["timestamps"]:
        assert render_time(case["ms"]) == case["rendered"]


@pytest.mark.parametrize("length", [4, 6, 10])
def test_codes_have_the_configured_number_of_digits(length: int) -> None:
    codes = {generate_code(length) for _ in range(200)}
    assert all(re.fullmatch(rf"[0-9]{{{length}}}", code) for code in codes)
    assert len(codes) > 150  # random, not constant


def test_ids_have_their_documented_form() -> None:
    assert re.fullmatch(r"VE[0-9a-f]{32}", new_verification_id())
    assert re.fullmatch(r"US[0-9a-f]{32}", new_user_id())
    assert new_verification_id() != new_verification_id()


def test_records_render_as_their_vectors(vectors: dict[str, Any]) -> None:
    """The verification body of a stored v2 record (version 1 is no longer read)."""
    for record in vectors["records"]:
        if record["version"] == 2:
            assert render_verification(record["fields"]) == record["renders"]
