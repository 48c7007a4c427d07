"""The dev tasks: lint, test, run."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from devtools.redis_server import USES_REDIS
from devtools.results import Result, run_pytest, run_step, summary

LINTED = ["monolith", "services", "routing", "infra", "contract_tests", "devtools", "devinbox",
          "kit", "tests", "scripts", "bench"]


def _existing(paths: list[str]) -> list[str]:
    return [p for p in paths if Path(p).exists()]


def lint_results() -> list[Result]:
    targets = _existing(LINTED)
    return [
        run_step("lint: ruff", [sys.executable, "-m", "ruff", "check", *targets]),
        run_step("lint: mypy", [sys.executable, "-m", "mypy", *targets]),
    ]


def lint() -> int:
    return 0 if all(r.ok for r in lint_results()) else 1


# `./dev test --only-redis-dependent`: just the stages whose outcome can change with the Redis the
# tests use (REDIS_URL's, or the embedded one). .ci/run runs it against the machine's Redis 7 after
# the full `./dev test` on the embedded server, so nothing else runs twice.
ONLY_REDIS_DEPENDENT = "--only-redis-dependent"
# The Redis fixtures once on a container of the made Redis image (TEST_REDIS=testcontainers):
# the two sides' integration tests (168 tests, 42 s here) and the check that the session's Redis
# is that container.
IN_CONTAINER = "pytest: Redis fixtures in a container (testcontainers)"
IN_CONTAINER_PATHS = ("tests/integration/services", "tests/integration/monolith",
                      "tests/integration/devtools")


# `./dev test --cluster [...]`: the same run against a local Redis Cluster of 3 primaries started
# for it (devtools/redis_cluster.py), with REDIS_CLUSTER=1 and REDIS_URL naming a node of it;
# stopped afterwards, also on SIGTERM (.ci/run bounds its third pass with `timeout`).
ON_LOCAL_CLUSTER = "--cluster"
CLUSTER_PRIMARIES = 3


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through local_cluster: its nodes are stopped


@contextmanager
def local_cluster_environment() -> Iterator[str]:
    """A local cluster for the duration, named by REDIS_CLUSTER=1 and REDIS_URL in os.environ
    (what every stage and its processes inherit); both restored afterwards."""
    from devtools.redis_cluster import local_cluster

    saved = {name: os.environ.get(name) for name in ("REDIS_URL", "REDIS_CLUSTER")}
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        with local_cluster(CLUSTER_PRIMARIES) as cluster:
            os.environ.update({"REDIS_CLUSTER": "1", "REDIS_URL": cluster.url})
            print(f"./dev test {ON_LOCAL_CLUSTER}: a local cluster of {CLUSTER_PRIMARIES} "
                  f"primaries (formed in {cluster.formed_in:.1f}s): REDIS_CLUSTER=1 "
                  f"REDIS_URL={cluster.url}", flush=True)
            yield cluster.url
    finally:
        signal.signal(signal.SIGTERM, previous)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def on_local_cluster(run: Callable[[], int]) -> int:
    if os.environ.get("REDIS_URL"):
        print(f"./dev test {ON_LOCAL_CLUSTER} starts a cluster of its own: unset REDIS_URL (to "
              "run against a cluster of yours: REDIS_CLUSTER=1 REDIS_URL=redis://NODE:PORT "
              "./dev test ...)", file=sys.stderr)
        return 2
    with local_cluster_environment():
        return run()


def test(pytest_args: list[str]) -> int:
    """Lint, every test under tests/ (and the Redis fixtures once on testcontainers), then the
    contract suite against each target.

    With `--only-redis-dependent`, only what depends on which Redis is used: the tests marked
    `uses_redis` and the contract targets where the sides meet Redis directly. With other
    arguments, only `pytest ARGS`. With `--cluster` (before the rest), any of these against a
    local Redis Cluster started for the run. Every stage runs even after a failure, so one run
    shows everything that is wrong; the exit status is non-zero when anything failed.
    """
    if pytest_args[:1] == [ON_LOCAL_CLUSTER]:
        return on_local_cluster(lambda: test(pytest_args[1:]))
    redis_dependent_only = ONLY_REDIS_DEPENDENT in pytest_args
    if redis_dependent_only and len(pytest_args) > 1:
        print(f"./dev test: {ONLY_REDIS_DEPENDENT} takes no other arguments", file=sys.stderr)
        return 2
    if pytest_args and not redis_dependent_only:
        return run_step("pytest", [sys.executable, "-m", "pytest", *pytest_args]).exit_code
    from devtools import contract

    started = time.monotonic()
    if redis_dependent_only:
        results = [run_pytest(f"pytest tests -m {USES_REDIS}", ["tests", "-m", USES_REDIS])]
    else:
        results = lint_results()
        results.append(run_pytest("pytest tests", ["tests"]))
        results.append(redis_in_container())
    results += contract.run_all(redis_dependent_only=redis_dependent_only)
    title = f"summary{' (' + ONLY_REDIS_DEPENDENT + ')' if redis_dependent_only else ''}"
    print(f"\n== {title} ({time.monotonic() - started:.0f}s)\n{summary(results)}", flush=True)
    failed = [r.name for r in results if not r.ok]
    if failed:
        print(f"\n./dev test FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("\n./dev test: everything passed")
    return 0


def redis_in_container() -> Result:
    """The Redis fixtures' tests with TEST_REDIS=testcontainers (never REDIS_URL's server)."""
    from devtools.contract import docker_unusable

    unusable = docker_unusable(IN_CONTAINER)
    if unusable:
        return unusable
    # The container is a single node, whatever cluster the rest of the run may be on.
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "REDIS_CLUSTER")}
    return run_pytest(IN_CONTAINER, [*IN_CONTAINER_PATHS, "-m", USES_REDIS],
                      {**env, "TEST_REDIS": "testcontainers"})


def contract(phases: list[str]) -> int:
    """Just the contract stage: its phases named (`main`, `limits`, `containers`), else all."""
    from devtools import contract as stage

    unknown = [p for p in phases if p not in stage.PHASES]
    if unknown:
        print(f"./dev contract: unknown phase {', '.join(unknown)} (phases: "
              f"{', '.join(stage.PHASES)})", file=sys.stderr)
        return 2
    started = time.monotonic()
    results = stage.run_all(phases=phases or tuple(stage.PHASES))
    print(f"\n== summary ({time.monotonic() - started:.0f}s)\n{summary(results)}", flush=True)
    return 0 if all(r.ok for r in results) else 1


def run(args: list[str]) -> int:
    from devtools import runner

    return runner.main(args)
