"""The groups of a bench run, each starting what it measures and stopping it afterwards."""

from __future__ import annotations

import functools
import time

from bench import proxies
from bench.context import BASELINE_PENDING, Bench, log
from bench.results import (
    GATEWAY_MONOLITH,
    GATEWAY_SERVICES,
    MONOLITH_1W,
    NGINX_SERVICES,
    REF_BARE,
    REF_EVALSHA,
    SERVICES,
    SERVICES_FEW_PENDING,
    SERVICES_FEW_PENDING_AFTER,
    SERVICES_MANY_PENDING,
    monolith_workers,
)
from bench.targets import Deployment, Launcher
from bench.tools import cores
from devtools.processes import Process

ONE_CORE = "pinned to core 0"


def single(name: str, server: Process, note: str = ONE_CORE,
           creates_records: bool = True) -> Deployment:
    return Deployment(name, str(server.spec.url), [server], [server], note,
                      creates_records=creates_records)


def start_services(launcher: Launcher) -> Deployment:
    send = launcher.send_service()
    try:
        verify = launcher.verify_service()
    except Exception:
        send.stop()
        raise
    # Each workload loads one service; both share core 0 as they would share a host.
    return Deployment(SERVICES, str(send.spec.url), [send, verify], [send, verify],
                      f"{ONE_CORE}, one process each",
                      urls={"send": str(send.spec.url), "check": str(verify.spec.url)})


def backends_of(direct: Deployment) -> proxies.Backends:
    send, check = direct.url_for("send"), direct.url_for("check")
    return proxies.Backends(send=send, check=check, default=check)


def _behind(bench: Bench, name: str, direct: Deployment, proxy: str) -> None:
    """Measure `direct` behind a proxy sharing its core; CPU counts the proxy and the backends."""
    backends = backends_of(direct)

    def start() -> Deployment:
        server = (bench.launcher.gateway(backends) if proxy == "gateway"
                  else bench.launcher.nginx(bench.tools["nginx"], backends))
        return Deployment(name, str(server.spec.url), [server, *direct.measured], [server],
                          f"{proxy} shares core 0 with the app")

    log(f"== {name}")
    with bench.deployed(name, start) as proxied:
        if proxied:
            bench.measure(proxied)


def references(bench: Bench) -> None:
    for name, factory in ((REF_BARE, "create_bare_app"), (REF_EVALSHA, "create_evalsha_app")):
        log(f"== {name}")
        bench.reset_redis()
        start = functools.partial(_reference, bench.launcher, name, factory)
        with bench.deployed(name, start) as deployment:
            if deployment:
                bench.measure(deployment)


def _reference(launcher: Launcher, name: str, factory: str) -> Deployment:
    return single(name, launcher.reference(name, factory), creates_records=False)


def monolith(bench: Bench) -> None:
    log(f"== {MONOLITH_1W}")
    bench.reset_redis()
    with bench.deployed(MONOLITH_1W, lambda: single(
            MONOLITH_1W, bench.launcher.monolith(1))) as deployment:
        if deployment:
            bench.measure(deployment)
            if bench.options.wants("proxies"):
                _behind(bench, GATEWAY_MONOLITH, deployment, "gateway")
    workers = cores()
    name = monolith_workers(workers)
    log(f"== {name}")
    bench.reset_redis()
    with bench.deployed(name, lambda: single(
            name, bench.launcher.monolith(workers, pinned=False),
            f"{workers} workers, unpinned (shares a core with wrk)")) as deployment:
        if deployment:
            bench.measure(deployment)


def services(bench: Bench) -> None:
    log(f"== {SERVICES}")
    bench.reset_redis()
    with bench.deployed(SERVICES, lambda: start_services(bench.launcher)) as deployment:
        if not deployment:
            return
        bench.measure(deployment)
        if bench.options.wants("proxies"):
            _behind(bench, NGINX_SERVICES, deployment, "nginx")
            _behind(bench, GATEWAY_SERVICES, deployment, "gateway")
        if bench.options.wants("pending"):
            many_pending(bench, deployment)


def many_pending(bench: Bench, deployment: Deployment) -> None:
    """1,000 pending, then many, then 1,000 again (A-B-A, so drift on a busy machine shows).
    Each run's checks walk 1,000 verifications the services create first (bench.measure); the
    many-pending run loads the rest of its keyspace, so it holds `many` pending in all."""
    many = bench.options.many_pending
    bench.report.meta["many_pending"] = many
    bench.report.meta["many_pending_storage_version"] = bench.options.storage_version
    for target, pending in ((SERVICES_FEW_PENDING, BASELINE_PENDING),
                            (SERVICES_MANY_PENDING, many),
                            (SERVICES_FEW_PENDING_AFTER, BASELINE_PENDING)):
        loaded = max(pending - BASELINE_PENDING, 0)
        log(f"== {target}: {pending:,} pending ({loaded:,} loaded in storage version "
            f"{bench.options.storage_version}, {BASELINE_PENDING:,} created by the services)")
        bench.empty_redis()
        empty = int(bench.redis.info("memory")["used_memory"])
        started = time.monotonic()
        bench.reset_redis(loaded=loaded)
        if loaded:
            seconds = round(time.monotonic() - started, 1)
            bench.report.meta.setdefault("many_pending_load_s", seconds)
            used = int(bench.redis.info("memory")["used_memory"])
            per_pending = round((used - empty) / loaded)
            bench.report.meta.setdefault("many_pending_used_memory_per_loaded_b", per_pending)
            log(f"  loaded in {seconds} s; Redis used_memory {used / 2**20:,.1f} MiB, "
                f"{per_pending:,} B more per loaded pending (expiry entries and allocator "
                f"slack included), keys: {bench.redis.dbsize():,}")
        bench.measure(deployment, target=target)
