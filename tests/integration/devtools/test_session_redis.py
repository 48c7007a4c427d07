"""The session's Redis (tests/conftest.py) is the server the environment chose, in every pass:
REDIS_URL's, a container of the chosen image (TEST_REDIS=testcontainers), or an embedded server
started for the session. A fallback to another server would make a pass prove nothing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import redis

from devtools.redis_server import container_image, server_binary


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
