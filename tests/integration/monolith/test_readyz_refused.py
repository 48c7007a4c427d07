"""/readyz answers 503 + Retry-After when Redis answers PING with an error (here an ACL without
`ping`, as a misconfigured ElastiCache user would be), never 500. On the session's kind of Redis:
a node, or (REDIS_CLUSTER=1) a cluster whose every node refuses PING."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis
from flask import Flask

from devtools.redis_cluster import local_cluster
from devtools.redis_server import cluster_mode, start_embedded


@pytest.fixture
def own_redis() -> Iterator[tuple[str, list[redis.Redis]]]:
    """A Redis of the test's own (its ACL is changed): its URL and a client of each of its
    nodes (one node; or every primary of a cluster)."""
    if cluster_mode():
        with local_cluster(primaries=3) as cluster:
            nodes = [node.connect() for node in cluster.primaries]
            yield cluster.url, nodes
            for node in nodes:
                node.close()
        return
    server = start_embedded()
    node = redis.Redis.from_url(server.url)
    yield server.url, [node]
    node.close()
    server.stop()


def test_readyz_is_503_when_redis_refuses_ping(
        make_app: Callable[..., Flask], own_redis: tuple[str, list[redis.Redis]]) -> None:
    url, nodes = own_redis
    client = make_app(redis_url=url).test_client()
    assert client.get("/readyz").get_json() == {"status": "ready"}
    for node in nodes:
        node.acl_setuser("default", enabled=True, nopass=True, commands=["+@all", "-ping"])
    refused = client.get("/readyz")
    assert (refused.status_code, refused.headers["Retry-After"]) == (503, "1")
    assert refused.get_json()["code"] == "service_unavailable"
    for node in nodes:
        node.acl_setuser("default", enabled=True, nopass=True, commands=["+@all"])
    assert client.get("/readyz").get_json() == {"status": "ready"}
