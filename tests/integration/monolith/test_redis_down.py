"""Redis down: 503 service_unavailable with Retry-After 1, never 500; recovery on its own.

On a node the app starts without Redis (its client connects on first use). A cluster client reads
the slot map when built (monolith/extensions.py: a cluster unreachable at start stops the process
and its supervisor starts it again), so in cluster mode the app is built on a cluster of its own
that is then stopped: every node gone under a running app.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from devtools.redis_cluster import local_cluster
from devtools.redis_server import cluster_mode, free_port, start_embedded

VID = "VE" + "a" * 32
CALLS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/api/verifications", {"to": "+14155550100", "channel": "sms"}),
    ("GET", f"/api/verifications/{VID}", None),
    ("POST", f"/api/verifications/{VID}/cancel", None),
    ("POST", "/api/verification-checks", {"to": "+14155550100", "code": "123456"}),
    ("POST", "/api/users", {"name": "Ada", "phone": "+14155550100"}),
    ("GET", "/api/users/US" + "0" * 32, None),
    ("GET", "/readyz", None),
]


@pytest.fixture
def redis_down(make_app: Callable[..., Flask]) -> Iterator[FlaskClient]:
    """A client of an app whose Redis (the session's kind: a node or a cluster) is down."""
    if not cluster_mode():
        yield make_app(redis_url=f"redis://127.0.0.1:{free_port()}/0").test_client()
        return
    with local_cluster(primaries=3) as cluster:
        app = make_app(redis_url=cluster.url)
    # the `with` stopped every node of it
    yield app.test_client()


@pytest.mark.parametrize(("method", "path", "body"), CALLS)
def test_every_redis_route_answers_503_fast(
    redis_down: FlaskClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    client = redis_down
    began = time.monotonic()
    response = client.open(path, method=method, json=body)
    assert time.monotonic() - began < 1.0
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.get_json() == {
        "type": "urn:problem:verify:service_unavailable", "title": "Service unavailable",
        "status": 503, "detail": "A dependency is unavailable; retry later.",
        "code": "service_unavailable",
    }


def test_healthz_does_not_need_redis(redis_down: FlaskClient) -> None:
    response = redis_down.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


@pytest.mark.single_node("restarts its own embedded node under the app: a stopped local cluster "
                         "(devtools/redis_cluster.py) cannot be started again")
def test_the_app_recovers_when_redis_comes_back(make_app: Callable[..., Flask]) -> None:
    port = free_port()
    server = start_embedded(port)
    try:
        client = make_app(redis_url=server.url).test_client()
        body = {"to": "+14155550100", "channel": "sms"}
        assert client.post("/api/verifications", json=body).status_code == 201
        server.stop()
        assert client.post("/api/verifications", json=body).status_code == 503
        assert client.get("/readyz").status_code == 503
        server = start_embedded(port)  # empty: scripts are loaded again on first use
        assert client.get("/readyz").get_json() == {"status": "ready"}
        assert client.post("/api/verifications", json=body).status_code == 201
    finally:
        server.stop()
