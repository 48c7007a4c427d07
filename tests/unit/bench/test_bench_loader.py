"""Pending verifications loaded by the bench are valid contract records (real Redis)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import redis
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bench import contract, loader, memory, phones

PEPPER = "test-pepper"
VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[3] / "docs" / "storage-contract-vectors.json").read_text("utf-8"))
# Every field of a version-2 record, as the golden vectors write one.
FIELDS = set(next(r for r in VECTORS["records"] if r["version"] == 2)["fields"])


def load(client: redis.Redis, count: int, start: int = 0) -> list[str]:
    return loader.load_pending(client, pepper=PEPPER, start=start, count=count, ttl_s=600,
                               retention_s=3600, progress=lambda _: None)


def test_records_follow_the_contract(redis_client: redis.Redis) -> None:
    ids = load(redis_client, 3)
    aead = AESGCM(contract.seal_key(PEPPER))
    assert len(set(ids)) == 3
    for index, verification_id in enumerate(ids):
        key = contract.RECORD_PREFIX + verification_id
        record = redis_client.hgetall(key)
        assert set(record) == FIELDS
        to = phones.us_mobile(phones.LOADER_AREA_CODE, index)
        assert (record["v"], record["id"], record["client"], record["to"], record["status"]) \
            == ("2", verification_id, contract.CLIENT, to, "pending")
        assert record["dest_hash"] == contract.dest_hash(PEPPER, "sms", to)
        assert record["prefix_hash"] == contract.prefix_hash(PEPPER, to)
        code = contract.open_seal(aead, verification_id, str(record["code_sealed"]))
        assert len(code) == 6 and code != loader.WRONG_CODE
        assert record["code_mac"] == contract.code_mac(PEPPER, code)
        assert int(record["expires_at"]) - int(record["created_at"]) == 600_000
        assert 4_100_000 < redis_client.pttl(key) <= 4_200_000
        pending_key = contract.pending_key(contract.CLIENT, record["dest_hash"])
        assert redis_client.get(pending_key) == verification_id
        assert 590_000 < redis_client.pttl(pending_key) <= 600_000


def test_batches_cover_every_destination_once(redis_client: redis.Redis) -> None:
    count = loader.PER_CALL * 2 + 7  # several script calls and a partial last one
    ids = load(redis_client, count, start=500)
    assert len(ids) == len(set(ids)) == count
    assert redis_client.dbsize() == 2 * count
    last = redis_client.hget(contract.RECORD_PREFIX + ids[-1], "to")
    assert last == phones.us_mobile(phones.LOADER_AREA_CODE, 500 + count - 1)


def test_memory_per_verification_counts_record_and_index(redis_client: redis.Redis) -> None:
    ids = load(redis_client, 5)
    sizes = memory.per_verification(redis_client, exclude_prefix="+999", sends=5)
    assert sizes["verifications"] == 5
    record = memory.mean_usage(redis_client, [contract.RECORD_PREFIX + i for i in ids])
    assert record is not None and sizes["record_bytes"] == record
    assert sizes["core_bytes"] == sizes["record_bytes"] + sizes["pending_index_bytes"]
    assert sizes["pending_index_bytes"] > 0
    loaded_prefix = f"+1{phones.LOADER_AREA_CODE}"
    excluded = memory.per_verification(redis_client, exclude_prefix=loaded_prefix, sends=5)
    assert "error" in excluded  # the bench's own records are left out when asked
