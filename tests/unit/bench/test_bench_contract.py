"""The bench's own copy of the storage contract, against the golden vectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench import contract

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[3] / "docs" / "storage-contract-vectors.json").read_text("utf-8"))
PEPPER: str = VECTORS["pepper"]


def test_contract_version() -> None:
    assert str(VECTORS["contract_version"]) == contract.CONTRACT_VERSION


@pytest.mark.parametrize("vector", VECTORS["codes"], ids=lambda v: v["code"])
def test_code_mac(vector: dict[str, str]) -> None:
    assert contract.code_mac(PEPPER, vector["code"]) == vector["code_mac"]


@pytest.mark.parametrize("vector", VECTORS["destinations"], ids=lambda v: v["channel"])
def test_dest_hash_and_key_names(vector: dict[str, str]) -> None:
    digest = contract.dest_hash(PEPPER, vector["channel"], vector["normalized_to"])
    assert digest == vector["dest_hash"]
    assert contract.DEST_LIMIT_PREFIX + digest == vector["dest_limit_key"]


@pytest.mark.parametrize("vector", VECTORS["sms_guards"]["prefixes"],
                         ids=lambda v: v["normalized_to"])
def test_prefix_hash(vector: dict[str, str]) -> None:
    assert contract.prefix_hash(PEPPER, vector["normalized_to"]) == vector["prefix_hash"]


@pytest.mark.parametrize("vector", VECTORS["client_keys"], ids=lambda v: v["client"])
def test_pending_key_of_a_client(vector: dict[str, str]) -> None:
    assert contract.pending_key(vector["client"], vector["dest_hash"]) == vector["pending_key"]


def test_ip_limit_and_outbox_names() -> None:
    assert VECTORS["client_ips"][0]["ip_limit_key"].startswith(contract.IP_LIMIT_PREFIX)
    assert VECTORS["streams"]["outbox"] == contract.OUTBOX


@pytest.mark.parametrize("vector", VECTORS["seals"], ids=lambda v: v["verification_id"])
def test_seal_matches_and_opens(vector: dict[str, str]) -> None:
    assert contract.seal_key(PEPPER).hex() == VECTORS["seal_key_hex"]
    aead = AESGCM(contract.seal_key(PEPPER))
    sealed = contract.seal_with(aead, vector["verification_id"], vector["code"],
                                bytes.fromhex(vector["nonce_hex"]))
    assert sealed == vector["code_sealed"]
    assert contract.open_seal(aead, vector["verification_id"], sealed) == vector["code"]
    assert contract.RECORD_PREFIX + vector["verification_id"] == vector["record_key"]


def test_new_ids_have_the_contract_form() -> None:
    ids = {contract.new_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(len(i) == 34 and i.startswith("VE") and int(i[2:], 16) >= 0 for i in ids)
    assert all(i[2:] == i[2:].lower() for i in ids)
