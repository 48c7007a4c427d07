"""`./dev run`, `./dev test` and the other commands land here (after ./dev has installed the
locked environment)."""

from __future__ import annotations

import subprocess
import sys

from devtools import keys, tasks


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: ./dev run [--containers] | "
              "test [--cluster] [--only-redis-dependent | pytest args] | "
              "contract [main|limits|containers] | images | lint | bench | "
              "routing ... | fuzz ... | keys ... | redis-cluster [--primaries N] [--replicas R]",
              file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "test":
        return tasks.test(rest)
    if command == "contract":
        return tasks.contract(rest)
    if command == "lint":
        return tasks.lint()
    if command == "run":
        return tasks.run(rest)
    if command == "bench":
        return subprocess.call([sys.executable, "-m", "bench", *rest])
    if command == "fuzz":
        return subprocess.call([sys.executable, "-m", "contract_tests.differential.fuzz_cli",
                                *rest])
    if command == "images":
        from devtools import images

        return images.main(rest)
    if command == "keys":
        return keys.main(rest)
    if command == "redis-cluster":
        from devtools import redis_cluster_cli

        return redis_cluster_cli.main(rest)
    if command == "routing":
        return subprocess.call([sys.executable, "-m", "routing", *rest])
    print(f"unknown command {command!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
