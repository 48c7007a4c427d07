"""`./dev test`'s contract stage: a stack on free ports, the suite once per target.

A target is a way of pointing the same suite at the system: the monolith alone, the services,
the two cross-wise pairs, the gateway (when routing/gateway exists), and the differential run.
Three phases, each on a stack (and a Redis) of its own:

- "contract": every target, three at a time, under TEST_PROFILE; the tests marked `shared_limits`
  are deselected (the limits they reach count every target's sends at once);
- "contract: shared limits": just those tests, under LIMITS_PROFILE (those limits small and
  short), against every suite target one at a time; a skip there fails the target;
- "contract: containers": the images (devtools/images.py) run as containers on a private network
  with a Redis of their own (devtools/containers.py), two gateways (0 % and 100 %), the suite as in
  "contract" against each and pinned to either side. Only without REDIS_URL (the containers never
  use the machine's Redis), and only where docker runs (KIT_REQUIRE_DOCKER=1: or it fails).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from devtools import keys
from devtools.components import (
    LIMITS_PROFILE,
    LIVE_TABLE,
    TEST_PROFILE,
    components,
    free_ports,
    local_spec,
)
from devtools.processes import ProcessSpec, Stack, StartError
from devtools.redis_server import cluster_mode, flush_url, free_port
from devtools.results import Result, run_pytest
from infra.components import by_name

SUITE = "contract_tests"
DIFFERENTIAL = "contract_tests/differential"
FUZZ = f"{DIFFERENTIAL}/test_fuzz.py"
# The fuzz target: a fixed seed, so every run plays the same sequences (measured on this 2-core
# machine: 311 examples, 3,513 steps in 170 s, monolith against services).
FUZZ_EXAMPLES, FUZZ_SEED = 300, 10
# The suite's marker of the tests that reach a limit shared by every target (contract_tests/
# conftest.py), and the phases of the stage (`./dev contract PHASE...` runs some).
SHARED_LIMITS = "shared_limits"
MAIN, LIMITS, CONTAINERS = "contract", "contract: shared limits", "contract: containers"
PHASES = {"main": MAIN, "limits": LIMITS, "containers": CONTAINERS}
# The storage-contract version each side writes, per phase (docs/storage-contract.md "Migration
# from version 2"): the main phase runs the monolith on 2 and the services on 3, the limits phase
# the other way round, so every cross target and the differential run meet two sides on different
# versions, as a rolling switch does; the containers write 3 (the default) on both. A cluster has
# no version 2 (REDIS_CLUSTER=1): every side writes 3 there.
WRITE_VERSION = "VERIFY_STORAGE_WRITE_VERSION"
MIXED_WRITE_VERSIONS: Mapping[str, Mapping[str, str]] = {
    MAIN: {"monolith": "2", "send": "3", "verify": "3"},
    LIMITS: {"monolith": "3", "send": "2", "verify": "2"},
}


@dataclass(frozen=True)
class Target:
    name: str
    args: tuple[str, ...]
    paths: tuple[str, ...] = (SUITE, f"--ignore={DIFFERENTIAL}")
    # Run on every Redis (`./dev test --only-redis-dependent` too): the sides meet Redis with
    # nothing between. The gateway targets add only the gateway's routing, which never touches
    # Redis, in front of the same sides; the fuzzer is a random search over what the scripted
    # differential run checks on each Redis (its seeded run costs 85 s; it runs once).
    redis_dependent: bool = True


def targets(urls: Mapping[str, str], redis_dependent_only: bool = False) -> list[Target]:
    """The main phase's targets: the fuzzer, the suite's targets, the differential run (with
    `redis_dependent_only`, those that a second Redis has to run)."""
    m, s, v = urls["monolith"], urls["send"], urls["verify"]
    services = f"send={s},check={v},users={m}"
    # The longest first: it runs beside all the others instead of alone at the end. The fuzzer
    # acts as two clients: CONTRACT_API_KEY's and CONTRACT_API_KEY_B's (alpha and beta, in every
    # target's environment: suite_env), which test_fuzz.py requires.
    fuzz = Target("fuzz monolith/services",
                  ("--diff-a", m, "--diff-b", services, "--redis-url", urls["redis-url"],
                   "--fuzz-examples", str(FUZZ_EXAMPLES), "--fuzz-seed", str(FUZZ_SEED)),
                  (FUZZ,), redis_dependent=False)
    differential = Target("differential monolith/services",
                          ("--diff-a", m, "--diff-b", services),
                          (DIFFERENTIAL, f"--ignore={FUZZ}"))
    found = [fuzz, *suite_targets(urls), differential]
    return [t for t in found if t.redis_dependent or not redis_dependent_only]


def suite_targets(urls: Mapping[str, str], redis_dependent_only: bool = False) -> list[Target]:
    """Every way of pointing the suite (not the differential run) at the system."""
    m, s, v = urls["monolith"], urls["send"], urls["verify"]
    found = [
        Target("monolith", ("--base-url", m)),
        Target("services", ("--send-url", s, "--check-url", v, "--users-url", m)),
        Target("cross-monolith-send", ("--send-url", m, "--check-url", v, "--users-url", m)),
        Target("cross-services-send", ("--send-url", s, "--check-url", m, "--users-url", m)),
        *gateway_targets(urls),
    ]
    return [t for t in found if t.redis_dependent or not redis_dependent_only]


# The service paths' rules in routing/routes.toml and the service each shifts traffic to.
SHIFTED_RULES = {"verifications": "send", "verification-checks": "verify"}
SHIFT_PERCENTS = (0, 50, 100)  # each on a copy of the live table, whatever its weights are now


def gateway_targets(urls: Mapping[str, str]) -> list[Target]:
    """The gateway at each migration step (0 %, 50 %, 100 % of the service paths on the
    services), and the 0 % one pinned to either side with the table's `X-Backend` header rules."""
    if "gateway" not in urls:
        return []
    gateway = urls["gateway"]
    found = [Target(f"gateway {percent}%", ("--base-url", gateway if percent == 0
                                             else urls[f"gateway-{percent}"]),
                    redis_dependent=False)
             for percent in SHIFT_PERCENTS]
    found += [Target(f"gateway pinned {side}", ("--base-url", gateway,
                                                "--header", f"X-Backend: {side}"),
                     redis_dependent=False)
              for side in ("monolith", "services")]
    return found


def shifted_tables(table_dir: Path) -> dict[int, Path]:
    """A copy of the live table per step, the service rules shifted the way
    `python -m routing shift RULE --to SERVICE PERCENT` shifts them."""
    from routing.table.loader import load_table
    from routing.table.store import save_table
    from routing.table.weights import shifted, weights_of, with_weights

    tables = {}
    for percent in SHIFT_PERCENTS:
        table = load_table(LIVE_TABLE)
        for rule, service in SHIFTED_RULES.items():
            table = with_weights(table, rule, shifted(weights_of(table, rule), service, percent))
        tables[percent] = table_dir / f"routes-{percent}.toml"
        save_table(tables[percent], table)
    return tables


# The suite's keys (docs/api.md, API keys): client alpha with every scope (the key of every test),
# client beta (another client's key works too), and two more alpha keys to be refused.
CONTRACT_KEYS: Mapping[str, tuple[str, tuple[str, ...], bool]] = {
    "CONTRACT_API_KEY": ("alpha", keys.SCOPES, False),
    "CONTRACT_API_KEY_B": ("beta", keys.SCOPES, False),
    "CONTRACT_API_KEY_SEND_ONLY": ("alpha", ("send",), False),
    "CONTRACT_API_KEY_REVOKED": ("alpha", keys.SCOPES, True),
}


def write_contract_keyring(path: Path) -> dict[str, str]:
    """The suite's keyring at `path`; each key under its CONTRACT_API_KEY* variable."""
    issued: dict[str, str] = {}
    keyring = keys.Keyring()
    for variable, (client, scopes, revoked) in CONTRACT_KEYS.items():
        key, issued[variable] = keys.new_key(client, scopes)
        keyring = keyring.with_key(dataclasses.replace(key, revoked=revoked))
    keys.write_keyring(path, keyring)
    return issued


def stage_specs(workers: int, external_redis: str | None, table_dir: Path,
                keyring_file: Path, profile: Mapping[str, str] = TEST_PROFILE
                ) -> list[ProcessSpec]:
    """The whole system (its gateway at 0 %) plus one more gateway per further step."""
    tables = shifted_tables(table_dir)
    specs = components(free_ports(), external_redis=external_redis, keyring_file=keyring_file,
                       workers=workers, profile=profile, table=tables[0])
    [gateway] = [s for s in specs if s.name == "gateway"]
    for percent in SHIFT_PERCENTS[1:]:
        spec = local_spec(by_name("gateway"), {"gateway": free_port()}, gateway.env,
                          fill={"table": str(tables[percent])})
        specs.append(dataclasses.replace(spec, name=f"gateway-{percent}"))
    return specs


def run_all(workers: int = 2, phases: Sequence[str] = tuple(PHASES),
            redis_dependent_only: bool = False) -> list[Result]:
    """The stage's phases (keys of PHASES), each on a stack of its own, one after the other.
    `redis_dependent_only`: the targets a second Redis has to run (Target.redis_dependent), and
    no containers phase (its containers bring their own Redis, always the same)."""
    results = []
    if "main" in phases:
        results += main_phase(workers, redis_dependent_only)
    if "limits" in phases:
        results += limits_phase(workers, redis_dependent_only)
    if "containers" in phases and not redis_dependent_only:
        results += containers_phase()
    return results


def main_phase(workers: int, redis_dependent_only: bool = False) -> list[Result]:
    try:
        with contract_stack(MAIN, workers, TEST_PROFILE) as (urls, env):
            return run_targets(MAIN, targets(urls, redis_dependent_only), env)
    except StartError as error:
        return [stack_failed(MAIN, error)]


def limits_phase(workers: int, redis_dependent_only: bool = False) -> list[Result]:
    """The shared-limit tests against every suite target, one at a time (each target's sends
    count toward the same client and SMS totals; each test waits its window out at the end)."""
    started = time.monotonic()
    try:
        with contract_stack(LIMITS, workers, LIMITS_PROFILE) as (urls, env):
            results = [
                must_not_skip(run_pytest(f"{LIMITS}: {target.name}",
                                         [*target.paths, "-m", SHARED_LIMITS, *target.args],
                                         {**env, "CONTRACT_NAMESPACE": str(namespace)}))
                for namespace, target in enumerate(suite_targets(urls, redis_dependent_only))
            ]
    except StartError as error:
        return [stack_failed(LIMITS, error)]
    print(f"== {LIMITS}: {len(results)} targets in {time.monotonic() - started:.0f}s, the "
          "stack's start and stop included", flush=True)
    return results


CONTAINER_PERCENTS = (0, 100)


def containers_phase() -> list[Result]:
    """The suite's main-phase arguments against the containerized gateways: a row per target,
    one row saying why when it cannot run here, none at all when REDIS_URL is set."""
    from devtools import containers, images

    if os.environ.get("REDIS_URL"):
        print(f"\n== {CONTAINERS}: not run with REDIS_URL set (the containers bring their own "
              "Redis; the pass without REDIS_URL runs it)", flush=True)
        return []
    started = time.monotonic()
    unusable = docker_unusable(f"{CONTAINERS}: docker")
    if unusable:
        return [unusable]
    try:
        built = images.build()
    except images.ImageError as error:
        print(f"== {CONTAINERS}: {error}", file=sys.stderr, flush=True)
        return [Result(f"{CONTAINERS}: images", exit_code=1, note=str(error).splitlines()[0],
                       seconds=time.monotonic() - started)]
    work = Path(tempfile.mkdtemp(prefix="kit-contract-containers-"))
    work.chmod(0o755)  # the tables are mounted into containers that run as uid 10001
    keyring_file = work / "keyring.json"
    api_keys = write_contract_keyring(keyring_file)
    tables = shifted_tables(work)
    gateway = by_name("gateway")
    name = f"kit-contract-{os.getpid()}"
    try:
        with containers.network(name, keyring_file) as run:
            parts = [spec for spec in containers.specs(run, built.images, TEST_PROFILE,
                                                       publish=False)
                     if spec.name != "gateway"]
            for percent in CONTAINER_PERCENTS:
                tables[percent].chmod(0o644)
                parts.append(containers.spec(
                    run, gateway, built.images["gateway"], TEST_PROFILE,
                    instance=f"gateway-{percent}", publish=False,
                    mounts={tables[percent]: gateway.in_image["table"]}))
            print(f"\n== {CONTAINERS}: images {built.tag}; starting "
                  f"{', '.join(p.name for p in parts)} on network {name} (logs in {work})",
                  flush=True)
            with Stack(parts, ready_timeout=120, log_dir=work):
                def url(instance: str) -> str:
                    port = by_name(instance.split("-")[0]).port
                    return f"http://{containers.address(run, instance)}:{port}"

                for percent in CONTAINER_PERCENTS:
                    serves_table(url(f"gateway-{percent}"), tables[percent])
                env = suite_env(url("devinbox"), api_keys, TEST_PROFILE)
                results = run_targets(CONTAINERS, container_targets(url), env)
    except (StartError, images.ImageError, TableNotServed) as error:
        return [stack_failed(CONTAINERS, error)]
    print(f"== {CONTAINERS}: {len(results)} targets in {time.monotonic() - started:.0f}s, the "
          "images' build and the containers' start and stop included", flush=True)
    return results


def docker_unusable(name: str) -> Result | None:
    """None when docker runs here; else a row saying why: skipped, or failed under
    KIT_REQUIRE_DOCKER=1 (.ci/run), where a stage that needs docker must run."""
    from devtools import images

    try:
        images.check_docker()
    except images.ImageError as error:
        if os.environ.get("KIT_REQUIRE_DOCKER") == "1":
            return Result(name, exit_code=1, note=f"KIT_REQUIRE_DOCKER=1 but {error}")
        return Result(name, exit_code=0, skip_reason=str(error))
    return None


class TableNotServed(RuntimeError):
    """A gateway container does not route by the table mounted into it."""


def serves_table(gateway_url: str, table: Path) -> None:
    """The gateway's status page shows the rules of `table` (the mount took, not the image's)."""
    from routing.table.describe import rules_json
    from routing.table.loader import load_table

    served = httpx.get(f"{gateway_url}/__gateway/status.json", timeout=10).json()["rules"]
    if served != rules_json(load_table(table)):
        raise TableNotServed(f"{gateway_url} does not serve the rules of {table.name}")


def container_targets(url: Callable[[str], str]) -> list[Target]:
    """The containerized gateway at 0 % and 100 %, and the 0 % one pinned to either side."""
    found = [Target(f"gateway {percent}%", ("--base-url", url(f"gateway-{percent}")))
             for percent in CONTAINER_PERCENTS]
    found += [Target(f"gateway pinned {side}", ("--base-url", url("gateway-0"),
                                                "--header", f"X-Backend: {side}"))
              for side in ("monolith", "services")]
    return found


def run_targets(label: str, found: Sequence[Target], env: Mapping[str, str]) -> list[Result]:
    """The suite without the shared-limit tests against each target, CONTRACT_JOBS (3) at a time:
    targets are independent (each its own slice of fresh IPs and destinations: CONTRACT_NAMESPACE,
    see contract_tests/fresh.py), and mostly wait on timers. Measured on this project's 2-core
    machine, the main phase's 11 targets: 2 at a time 465 s, 3 at a time 363 s, the targets' own
    times adding up to the same (911 s, 921 s), so a third does not slow the others."""
    jobs = max(1, int(os.environ.get("CONTRACT_JOBS", "3")))

    def run(numbered: tuple[int, Target]) -> Result:
        namespace, target = numbered
        return run_pytest(f"{label}: {target.name}",
                          [*target.paths, "-m", f"not {SHARED_LIMITS}", *target.args],
                          {**env, "CONTRACT_NAMESPACE": str(namespace)}, buffered=jobs > 1)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(run, enumerate(found)))


def must_not_skip(result: Result) -> Result:
    """LIMITS_PROFILE is made for the shared-limit tests: one that skips there has not run."""
    if result.skipped:
        result.exit_code = result.exit_code or 1
        result.note = (f"{result.skipped} skipped: under the limits profile every "
                       f"{SHARED_LIMITS} test must run")
    return result


@contextmanager
def contract_stack(label: str, workers: int, profile: Mapping[str, str]
                   ) -> Iterator[tuple[dict[str, str], dict[str, str]]]:
    """The stage's system under `profile`, with a Redis no earlier phase counted in: the
    target URLs (and `redis-url`) and the suite's environment."""
    external = os.environ.get("REDIS_URL") or None
    if external:  # the configured test database (every primary of a cluster with
        flush_url(external)  # REDIS_CLUSTER=1), which tests/conftest.py flushes as well
    log_dir = Path(tempfile.mkdtemp(prefix="kit-contract-"))
    keyring_file = log_dir / "keyring.json"
    api_keys = write_contract_keyring(keyring_file)
    parts = stage_specs(workers, external, log_dir, keyring_file, profile)
    if not cluster_mode():
        versions = MIXED_WRITE_VERSIONS.get(label, {})
        parts = [dataclasses.replace(p, env={**p.env, WRITE_VERSION: versions[p.name]})
                 if p.name in versions else p for p in parts]
        print(f"== {label}: storage write versions "
              + ", ".join(f"{name} {version}" for name, version in versions.items()), flush=True)
    print(f"\n== {label}: starting {', '.join(p.name for p in parts)} "
          f"(logs in {log_dir})", flush=True)
    with Stack(parts, ready_timeout=60, log_dir=log_dir) as stack:
        urls = {p.name: stack.url(p.name) for p in parts if p.url}
        urls["redis-url"] = external or str(stack.specs["redis"].ready)
        yield urls, suite_env(urls["devinbox"], api_keys, profile)


def stack_failed(label: str, error: Exception) -> Result:
    print(f"== {label}: the stack did not start: {error}", file=sys.stderr, flush=True)
    return Result(f"{label}: stack", exit_code=1, note=str(error).splitlines()[0])


def suite_env(inbox_url: str, api_keys: Mapping[str, str],
              profile: Mapping[str, str] = TEST_PROFILE) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTRACT_")}
    return {**env, **profile, "CONTRACT_INBOX_URL": inbox_url, **api_keys}
