"""Pending verifications loaded by the bench are the contract's records (real Redis): version 3
read back with the services' own codec, version 2 field by field; and what memory.py measures
over them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import redis
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench import contract, loader, memory, phones
from services.verification import crypto as services_crypto
from services.verification import keys as services_keys
from services.verification.packed import unpack

PEPPER = "test-pepper"
VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[3] / "docs" / "storage-contract-vectors.json").read_text("utf-8"))
# Every field of a version-2 record, as the golden vectors write one.
V2_FIELDS = set(next(r for r in VECTORS["records"] if r["version"] == 2)["fields"])
CODE_TTL_MS, RECORD_TTL_MS = 600_000, 4_200_000
# The bench runs on one node: its loader writes 1,000 destinations (every bucket, so every slot)
# per script call, and version 2's records besides.
LOADER_SPANS_EVERY_SLOT = pytest.mark.single_node(
    "the bench loader's one script writes keys of every bucket (and version-2 data): the bench "
    "runs on a single node by design")


def load(client: redis.Redis, count: int, start: int = 0, version: int = 3) -> list[str]:
    return loader.load_pending(client, pepper=PEPPER, start=start, count=count, ttl_s=600,
                               retention_s=3600, storage_version=version,
                               progress=lambda _: None)


@LOADER_SPANS_EVERY_SLOT
def test_v3_records_decode_with_the_services_codec(redis_client: redis.Redis) -> None:
    seconds, _ = redis_client.time()
    ids = load(redis_client, 3)
    assert len(set(ids)) == 3 and redis_client.dbsize() == 3  # one key per verification
    for index, verification_id in enumerate(ids):
        to = phones.us_mobile(phones.LOADER_AREA_CODE, index)
        dest_hash = services_crypto.dest_hash(PEPPER, "sms", to)
        dest_key = services_crypto.dest_key(PEPPER, contract.CLIENT, dest_hash)
        # The id names the record: VE + the client's dest_key + 16 random hex.
        assert verification_id[:18] == "VE" + dest_key
        key = services_keys.v3_record_key(contract.CLIENT, dest_key)
        raw = redis_client.get(key)
        assert raw is not None
        record = unpack(raw)
        assert record.rand == verification_id[18:]
        assert (record.to, record.channel, record.locale, record.reference, record.status) \
            == (to, "sms", "", "", "pending")
        assert (record.send_attempts, record.check_attempts, record.sent_offset) == (1, 0, 0)
        assert record.ttl == CODE_TTL_MS and record.expires_at == record.created_at + CODE_TTL_MS
        assert abs(record.created_at - int(seconds) * 1000) < 5_000  # Redis time, in ms
        code = services_crypto.open_sealed_code_v3(PEPPER, verification_id, record.code_sealed)
        assert len(code) == 6 and code != loader.WRONG_CODE
        assert record.code_mac16 == services_crypto.code_mac16(PEPPER, code)
        assert RECORD_TTL_MS - 10_000 < redis_client.pttl(key) <= RECORD_TTL_MS


@LOADER_SPANS_EVERY_SLOT
def test_v2_records_follow_the_contract(redis_client: redis.Redis) -> None:
    ids = load(redis_client, 3, version=2)
    aead = AESGCM(contract.seal_key(PEPPER))
    assert len(set(ids)) == 3 and redis_client.dbsize() == 6  # record + pending index each
    for index, verification_id in enumerate(ids):
        key = contract.v2_record_key(verification_id)
        record = redis_client.hgetall(key)
        assert set(record) == V2_FIELDS
        to = phones.us_mobile(phones.LOADER_AREA_CODE, index)
        assert (record["v"], record["id"], record["client"], record["to"], record["status"]) \
            == ("2", verification_id, contract.CLIENT, to, "pending")
        assert record["dest_hash"] == contract.dest_hash(PEPPER, "sms", to)
        assert record["prefix_hash"] == contract.prefix_hash(PEPPER, to)
        code = contract.open_seal_v2(aead, verification_id, str(record["code_sealed"]))
        assert len(code) == 6 and code != loader.WRONG_CODE
        assert record["code_mac"] == contract.code_mac(PEPPER, code)
        assert int(record["expires_at"]) - int(record["created_at"]) == CODE_TTL_MS
        assert RECORD_TTL_MS - 10_000 < redis_client.pttl(key) <= RECORD_TTL_MS
        pending_key = contract.v2_pending_key(contract.CLIENT, record["dest_hash"])
        assert redis_client.get(pending_key) == verification_id
        assert CODE_TTL_MS - 10_000 < redis_client.pttl(pending_key) <= CODE_TTL_MS


@LOADER_SPANS_EVERY_SLOT
@pytest.mark.parametrize("version", [3, 2])
def test_batches_cover_every_destination_once(redis_client: redis.Redis, version: int) -> None:
    count = loader.PER_CALL * loader.CALLS_PER_PIPELINE + 7  # several pipelines, a partial one
    ids = load(redis_client, count, start=500, version=version)
    assert len(ids) == len(set(ids)) == count
    assert redis_client.dbsize() == count * (1 if version == 3 else 2)
    if version == 3:
        last = unpack(str(redis_client.get(
            contract.record_key(contract.CLIENT, contract.dest_key_of_id(ids[-1]))))).to
    else:
        last = str(redis_client.hget(contract.v2_record_key(ids[-1]), "to"))
    assert last == phones.us_mobile(phones.LOADER_AREA_CODE, 500 + count - 1)


@LOADER_SPANS_EVERY_SLOT
def test_a_bulk_load_keeps_only_the_ids_asked_for(redis_client: redis.Redis) -> None:
    seen: list[str] = []
    count = loader.PARALLEL_FROM + 5  # made by the maker processes
    ids = loader.load_pending(redis_client, pepper=PEPPER, start=0, count=count, ttl_s=600,
                              retention_s=3600, keep_ids=3, progress=seen.append)
    assert redis_client.dbsize() == count
    assert len(ids) == 3  # the first destinations', in order
    for index, verification_id in enumerate(ids):
        key = contract.record_key(contract.CLIENT, contract.dest_key_of_id(verification_id))
        record = unpack(str(redis_client.get(key)))
        assert (record.rand, record.to) == (contract.rand_of_id(verification_id),
                                            phones.us_mobile(phones.LOADER_AREA_CODE, index))
    assert seen and seen[-1].startswith(f"  loaded {count:,}/{count:,} pending verifications "
                                         "(storage version 3,")


def test_an_unknown_storage_version_is_refused(redis_client: redis.Redis) -> None:
    with pytest.raises(ValueError, match="storage version 1"):
        load(redis_client, 1, version=1)


@LOADER_SPANS_EVERY_SLOT
def test_loaded_bytes_measures_each_version_and_leaves_the_redis_empty(
        redis_client: redis.Redis) -> None:
    sizes = memory.loaded_bytes(redis_client, pepper=PEPPER, count=20, ttl_s=600,
                                retention_s=3600)
    v2, v3 = sizes["2"], sizes["3"]
    assert v2["verifications"] == v3["verifications"] == 20
    assert v3["pending_index_bytes"] is None and v3["core_bytes"] == v3["record_bytes"]
    assert v2["core_bytes"] == pytest.approx(v2["record_bytes"] + v2["pending_index_bytes"])
    assert 0 < v3["core_bytes"] <= 256 < v2["core_bytes"]  # the point of version 3
    assert redis_client.dbsize() == 0


@LOADER_SPANS_EVERY_SLOT
def test_per_verification_sorts_the_keys_and_amortises_the_counters(
        redis_client: redis.Redis) -> None:
    ids = load(redis_client, 4)
    dest_hash = contract.dest_hash(PEPPER, "sms", "+12122000000")
    redis_client.set(contract.DEST_LIMIT_PREFIX + dest_hash, 1)
    redis_client.set(contract.IP_LIMIT_PREFIX + "a" * 32, 1)
    redis_client.set(contract.failed_checks_key(contract.CLIENT,
                                                contract.dest_key_of_id(ids[0])), 1)
    redis_client.xadd(contract.outbox_stream(3), {"verification_id": ids[0]})
    redis_client.xadd(contract.outbox_stream(9), {"verification_id": ids[1]})
    redis_client.set("vfy:rl:sms", 4)
    sizes = memory.per_verification(redis_client, sends=4)
    assert sizes["storage_version"] == 3 and sizes["verifications"] == 4
    record_keys = [contract.record_key(contract.CLIENT, contract.dest_key_of_id(i)) for i in ids]
    assert sizes["record_bytes"] == sizes["core_bytes"] == memory.mean_usage(redis_client,
                                                                             record_keys)
    assert sizes["dest_limit_counter_bytes"] == memory.usage(
        redis_client, contract.DEST_LIMIT_PREFIX + dest_hash)
    assert sizes["ip_limit_counter_bytes_per_send"] == pytest.approx(
        memory.usage(redis_client, contract.IP_LIMIT_PREFIX + "a" * 32) / 4, abs=0.1)
    assert sizes["failed_checks_counter_bytes"] is not None
    assert sizes["other_shared_bytes_per_send"] == pytest.approx(
        memory.usage(redis_client, "vfy:rl:sms") / 4, abs=0.1)
    outbox = sum(memory.usage(redis_client, contract.outbox_stream(b)) for b in (3, 9))
    assert sizes["outbox_bytes_per_job"] == pytest.approx(outbox / 2, abs=0.1)
    assert set(sizes["by_version"]) == {"3"}


@LOADER_SPANS_EVERY_SLOT
def test_per_verification_of_version_2_adds_the_pending_index(redis_client: redis.Redis) -> None:
    load(redis_client, 5, version=2)
    sizes = memory.per_verification(redis_client, sends=5)
    assert sizes["storage_version"] == 2 and sizes["verifications"] == 5
    assert sizes["core_bytes"] == pytest.approx(sizes["record_bytes"]
                                                + sizes["pending_index_bytes"])
    assert sizes["pending_index_bytes"] > 0
    assert sizes["outbox_bytes_per_job"] is None


def test_per_verification_finds_nothing_on_an_empty_redis(redis_client: redis.Redis) -> None:
    assert "error" in memory.per_verification(redis_client, sends=1)
