"""/readyz answers 503 + Retry-After when Redis answers PING with an error (here an ACL without
`ping`, as a misconfigured ElastiCache user would be), never 500."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import redis
from flask import Flask

from devtools.redis_server import EmbeddedRedis, start_embedded


@pytest.fixture
def own_server() -> Iterator[EmbeddedRedis]:
    server = start_embedded()  # its own: its ACL is changed
    yield server
    server.stop()


def test_readyz_is_503_when_redis_refuses_ping(
        make_app: Callable[..., Flask], own_server: EmbeddedRedis) -> None:
    client = make_app(redis_url=own_server.url).test_client()
    assert client.get("/readyz").get_json() == {"status": "ready"}
    admin = redis.Redis.from_url(own_server.url)
    admin.acl_setuser("default", enabled=True, nopass=True, commands=["+@all", "-ping"])
    refused = client.get("/readyz")
    assert (refused.status_code, refused.headers["Retry-After"]) == (503, "1")
    assert refused.get_json()["code"] == "service_unavailable"
    admin.acl_setuser("default", enabled=True, nopass=True, commands=["+@all"])
    assert client.get("/readyz").get_json() == {"status": "ready"}
