"""`./dev redis-cluster`: a local Redis Cluster until Ctrl-C (or SIGTERM), its URLs printed."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from types import FrameType

from devtools.redis_cluster import DEFAULT_NODE_TIMEOUT_MS, local_cluster
from devtools.redis_server import server_binary


def parse(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="./dev redis-cluster",
                                     description="Start a local Redis Cluster on free ports.")
    parser.add_argument("--primaries", type=int, default=3)
    parser.add_argument("--replicas", type=int, default=0, help="replicas per primary")
    parser.add_argument("--node-timeout-ms", type=int, default=DEFAULT_NODE_TIMEOUT_MS)
    return parser.parse_args(args)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(args: list[str]) -> int:
    options = parse(args)
    # Stopped like Ctrl-C: nodes and directory gone. SIGINT too, explicitly: a process started
    # in the background of a non-interactive shell inherits SIGINT ignored.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _interrupt)
    try:
        with local_cluster(options.primaries, options.replicas,
                           node_timeout_ms=options.node_timeout_ms) as cluster:
            print(f"redis-cluster: {options.primaries} primaries, {options.replicas} replica(s) "
                  f"each, formed in {cluster.formed_in:.1f}s ({server_binary()})")
            for node in cluster.nodes:
                print(f"  {node.role:<8} {node.url}  {node.node_id}")
            print(f"REDIS_CLUSTER=1 REDIS_URL={cluster.url}")
            print("Ctrl-C stops it.", flush=True)
            while True:
                gone = [n for n in cluster.nodes if not n.alive]
                if gone:
                    node = gone[0]
                    print(f"redis-cluster: {node.url} exited with code "
                          f"{node.process.returncode}; stopping. Last output:\n"
                          f"{node.process.tail()}", file=sys.stderr)
                    return 1
                time.sleep(0.5)
    except KeyboardInterrupt:
        print("redis-cluster: stopped", flush=True)
        return 0
