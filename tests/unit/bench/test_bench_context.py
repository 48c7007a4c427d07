"""Emptying the bench's Redis between runs (real Redis)."""

from __future__ import annotations

import pytest
import redis

from bench import loader
from bench.context import flush_and_wait


@pytest.mark.single_node("the bench's Redis is one node by design: FLUSHDB ASYNC and the "
                         "lazy-free count are one node's, the loader's script spans every slot")
def test_a_flush_is_over_before_the_next_run_starts(redis_client: redis.Redis) -> None:
    loader.load_pending(redis_client, pepper="p", start=0, count=50_000, ttl_s=600,
                        retention_s=600, keep_ids=0, progress=lambda _: None)
    flush_and_wait(redis_client)
    assert redis_client.dbsize() == 0
    assert int(redis_client.info("memory")["lazyfree_pending_objects"]) == 0
