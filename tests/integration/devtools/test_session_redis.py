"""The session's Redis (tests/conftest.py) is the server the environment chose, in every pass:
REDIS_URL's, a container of the chosen image (TEST_REDIS=testcontainers), or an embedded server
started for the session. A fallback to another server would make a pass prove nothing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
import redis.cluster

from devtools.redis_server import container_image, flush, server_binary


def container_publishing(port: int) -> list[str]:
    """The images of the running containers that publish `port` on this host."""
    listed = subprocess.run(["docker", "ps", "--filter", f"publish={port}", "--format",
                             "{{.Image}}"], capture_output=True, text=True, check=True)
    return listed.stdout.split()


def test_the_session_redis_is_the_server_the_environment_chose(
        redis_url: str, redis_client: redis.Redis) -> None:
    server = redis_client.info("server")
    assert redis_client.set("kit:session-redis-probe", "1") and redis_client.dbsize() == 1
    given = os.environ.get("REDIS_URL")
    if given:
        assert redis_url == given
        return
    port = urlsplit(redis_url).port
    assert port is not None
    if os.environ.get("TEST_REDIS") == "testcontainers":
        assert container_publishing(port) == [container_image()], (
            f"no container of {container_image()} publishes {redis_url}")
        return
    assert urlsplit(redis_url).hostname == "127.0.0.1"
    # A child of this session on this host, running the embedded binary.
    running = Path(f"/proc/{server['process_id']}/exe").resolve()
    assert running == server_binary().resolve(), server


def test_the_session_redis_is_a_cluster_exactly_when_redis_cluster_says_so(
        redis_cluster: bool, redis_client: redis.Redis) -> None:
    # A cluster client answers INFO from one node; every node of a cluster says cluster_enabled.
    assert redis_client.info("cluster")["cluster_enabled"] == (1 if redis_cluster else 0)
    assert isinstance(redis_client, redis.cluster.RedisCluster) == redis_cluster


def test_flushing_empties_every_primary_of_a_cluster(
        redis_cluster: bool, redis_client: redis.Redis) -> None:
    names = [f"kit:flush-probe:{n}" for n in range(64)]  # spread over the slots of every primary
    for name in names:
        redis_client.set(name, "1")
    if redis_cluster:
        assert isinstance(redis_client, redis.cluster.RedisCluster)
        primaries = redis_client.get_primaries()
        holding = [p for p in primaries if redis_client.dbsize(target_nodes=p)]
        assert len(holding) == len(primaries) > 1  # the probe reached every primary
    flush(redis_client)
    assert redis_client.dbsize() == 0  # summed over the primaries in a cluster


@pytest.mark.single_node("SELECT of another database")
def test_a_single_node_test_runs_on_a_single_node(redis_client: redis.Redis) -> None:
    # Skipped with REDIS_CLUSTER=1 (tests/unit/devtools/test_single_node_marker.py checks that):
    # a cluster refuses SELECT of any database but 0.
    assert redis_client.select(1) in ("OK", True)
