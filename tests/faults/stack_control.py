"""The fault suite's stack: the real processes of `devtools.processes.Stack`, plus the means to hurt
them (SIGKILL a process group, stop Redis) and to bring one back on the same port.

The stack runs its own Redis (a private data directory, so a `SHUTDOWN SAVE` and a restart on the
same port come back with the same data, like a failover that keeps the data) and its own copy of
the route table (so shifting weights never touches `routing/routes.toml` of the checkout).
"""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Mapping
from pathlib import Path

import redis
from redis import Redis as RedisClient

from devtools import keys
from devtools.components import LIVE_TABLE, TEST_PROFILE, Ports, components
from devtools.processes import ProcessSpec, Stack
from services.verification import keys as storage
from tests.faults.api import API_KEY
from tests.support.procfs import process_tree

# The launcher's test profile, with codes that outlive a whole fault scenario, and a small per-IP
# send limit so the abuse test can reach it (every other test sends from its own client IP).
FAULT_PROFILE: Mapping[str, str] = {
    **TEST_PROFILE,
    "VERIFY_CODE_TTL_SECONDS": "300",
    "VERIFY_IP_LIMIT": "5",
    # The gateway's own errors as problem+json naming the target group (ALB's HTML page does
    # not): the suite attributes every failure to the group that failed.
    "ROUTING_ERROR_BODY": "problem",
    # Fault scenarios burst hundreds of SMS to numbers of a few prefixes: the SMS-pumping guards
    # (tested on their own on both sides and by the contract suite) must not be what refuses them.
    "VERIFY_SMS_PREFIX_LIMIT": "1000000",
    "VERIFY_PREFIX_GUARD_MIN_SMS": "1000000",
    "VERIFY_SMS_GLOBAL_LIMIT": "1000000",
}
IP_LIMIT = int(FAULT_PROFILE["VERIFY_IP_LIMIT"])
# Both storage versions' streams (docs/storage-contract.md): v2's one, v3's 64 buckets.
EVENTS_STREAMS = (storage.EVENTS_STREAM, *storage.v3_events_streams())
OUTBOX_STREAMS = (storage.OUTBOX_STREAM, *storage.v3_outbox_streams())

# A day in 24 s (1 s stands for 1 h) for the guess-budget test, on a stack of its own: codes that
# live 1 s would break every other fault scenario. The code TTL (10 min, 1/6 s scaled) is the least
# whole second; the resend cooldown (30 s, 8 ms scaled) rounds to 0. The destination and IP send
# limits are lifted: the check budgets, not the send limits, must be what stops the attacker.
GUESS_BUDGET_PROFILE: Mapping[str, str] = {
    **FAULT_PROFILE,
    "VERIFY_DEST_FAILED_CHECKS_WINDOW_SECONDS": "24",
    "VERIFY_CODE_TTL_SECONDS": "1",
    "VERIFY_RESEND_COOLDOWN_SECONDS": "0",
    "VERIFY_DEST_LIMIT": "1000000",
    "VERIFY_DEST_WINDOW_SECONDS": "1",
    "VERIFY_IP_LIMIT": "1000000",
    "VERIFY_IP_WINDOW_SECONDS": "1",
}


class FaultStack(Stack):
    """A Stack whose components can be killed and restarted one at a time."""

    def __init__(self, specs: list[ProcessSpec], table: Path, workdir: Path) -> None:
        (workdir / "logs").mkdir(exist_ok=True)
        super().__init__(specs, ready_timeout=90.0, log_dir=workdir / "logs")
        self.table = table
        self.audit_log = workdir / "audit.log"

    @property
    def redis_url(self) -> str:
        return str(self.specs["redis"].ready)

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url, decode_responses=True,
                                    socket_connect_timeout=2, socket_timeout=5)

    def stream(self, key: str) -> list[dict[str, str]]:
        """Every entry's fields of a Redis stream (empty when the key does not exist)."""
        client = self.redis()
        try:
            entries: list[tuple[str, dict[str, str]]] = client.xrange(key)  # type: ignore[assignment]
        finally:
            client.close()
        return [fields for _, fields in entries]

    def events(self) -> list[dict[str, str]]:
        """Every status event, from both storage versions' streams (vfy:events and the 64
        version-3 buckets)."""
        return [fields for stream in EVENTS_STREAMS for fields in self.stream(stream)]

    def outbox_length(self, client: RedisClient) -> int:
        """The delivery jobs waiting in every outbox stream (both versions)."""
        return sum(int(client.xlen(stream)) for stream in OUTBOX_STREAMS)

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def alive(self, name: str) -> bool:
        return self.processes[name].alive

    def kill(self, name: str, signum: int = signal.SIGKILL) -> None:
        """Signal the component's whole process group and wait until its leader is gone."""
        process = self.processes[name]
        process.signal(signum)
        process.wait(timeout=15)

    def stop_redis(self) -> None:
        """SHUTDOWN SAVE: Redis writes its data, then exits (clients see connections refused)."""
        client = self.redis()
        try:
            client.shutdown(save=True)
        except redis.ConnectionError:
            pass  # the server closes the connection as it exits
        finally:
            client.close()
        self.processes["redis"].wait(timeout=15)

    def restart(self, name: str) -> None:
        """Start a dead component again with the same argv, env and port; wait until ready."""
        if self.alive(name):
            raise AssertionError(f"{name} is still running (pid {self.pid(name)})")
        log = self.log_path(name)
        if log.exists():  # keep the first life's output for the post-mortem
            log.replace(log.with_suffix(f".{time.time_ns()}.log"))
        super().restart(name)

    def revive_all(self) -> list[str]:
        """Restart whatever a previous test left dead; the names restarted."""
        dead = [name for name in self.processes if not self.alive(name)]
        for name in dead:
            self.restart(name)
        for name, process in self.processes.items():
            if not process.is_ready():
                raise AssertionError(f"{name} is running but not ready:\n{self.tail(name)}")
        return dead


def fault_components(ports: Ports, workdir: Path, profile: Mapping[str, str] = FAULT_PROFILE,
                     ) -> tuple[list[ProcessSpec], Path]:
    """The launcher's components with `profile`, a private Redis data dir, a private route table
    and a keyring holding the suite's one key."""
    table = workdir / "routes.toml"
    shutil.copyfile(LIVE_TABLE, table)
    redis_dir = workdir / "redis"
    redis_dir.mkdir()
    keyring_file = workdir / "keyring.json"
    keys.write_keyring(keyring_file, keys.Keyring((keys.entry_for(API_KEY, "faults"),)))
    specs = components(ports, external_redis=None, keyring_file=keyring_file, workers=2,
                       profile=profile, table=table, redis_dir=str(redis_dir))
    return specs, table


def pids_of(stack: FaultStack, names: list[str]) -> dict[str, set[int]]:
    return {name: process_tree(stack.pid(name)) for name in names}
