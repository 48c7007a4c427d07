"""The fuzzer reads back the events of both sides from a real Redis: every version-3 bucket and
version 2's vfy:events, only what is new since its cursor, in occurred_at order (then entry id)."""

from __future__ import annotations

import pytest
import redis
from redis.typing import EncodableT, FieldT

from contract_tests.differential.events import EVENTS_STREAMS, EventCursor, events_client


def event(vid: str, occurred_at: int, schema: str = "3") -> dict[FieldT, EncodableT]:
    destination: dict[FieldT, EncodableT] = (
        {"dest_key": "ab" * 8} if schema == "3" else {"dest_hash": "ab" * 16})
    return {"schema": schema, "type": "verification.approved", "verification_id": vid,
            "channel": "sms", **destination, "client": "acme", "reference": "",
            "occurred_at": str(occurred_at)}


def test_the_contracts_streams_are_read() -> None:
    assert len(EVENTS_STREAMS) == 65
    assert EVENTS_STREAMS[0] == "vfy:events"
    assert {"vfy3:{b0}:events", "vfy3:{b63}:events"} <= set(EVENTS_STREAMS)


def test_new_events_of_every_stream_in_occurred_at_order(redis_client: redis.Redis) -> None:
    redis_client.xadd("vfy3:{b7}:events", event("VE-old", 1000))  # before the cursor: not read
    cursor = EventCursor(redis_client)
    assert cursor.new_events() == []
    redis_client.xadd("vfy3:{b40}:events", event("VE-third", 3000), id="5-0")
    redis_client.xadd("vfy:events", event("VE-first", 1000, schema="2"), id="9-0")
    redis_client.xadd("vfy3:{b7}:events", event("VE-second", 2000))
    redis_client.xadd("vfy3:{b63}:events", event("VE-tie-later-id", 3000), id="6-0")
    redis_client.xadd("vfy3:{b0}:events", event("VE-tie-earlier-id", 3000), id="5-1")
    order = [fields["verification_id"] for fields in cursor.new_events()]
    assert order == ["VE-first", "VE-second", "VE-third", "VE-tie-earlier-id", "VE-tie-later-id"]
    assert cursor.new_events() == []  # each event once
    redis_client.xadd("vfy3:{b40}:events", event("VE-next", 4000))
    [next_one] = cursor.new_events()
    assert next_one == event("VE-next", 4000)


def test_the_fuzzers_own_client_reads_every_bucket_of_the_sessions_redis(
    redis_client: redis.Redis, redis_url: str, redis_cluster: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What fuzz.py connects with: on a cluster the 64 buckets live on several nodes."""
    monkeypatch.setenv("REDIS_CLUSTER", "1" if redis_cluster else "0")
    client = events_client(redis_url)
    try:
        cursor = EventCursor(client)
        for bucket in range(64):
            redis_client.xadd(f"vfy3:{{b{bucket}}}:events", event(f"VE-{bucket}", 1000 + bucket))
        order = [fields["verification_id"] for fields in cursor.new_events()]
        assert order == [f"VE-{bucket}" for bucket in range(64)]
    finally:
        client.close()
