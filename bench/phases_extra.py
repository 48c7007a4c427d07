"""The groups that need their own Redis or extra processes: Redis probes and the mixed flow."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from bench import cpu, memory, mixed, probe
from bench.context import Bench, log
from bench.phases import single, start_services
from bench.results import MONOLITH_1W, SERVICES, Goal
from bench.targets import PROFILE, Deployment, Launcher
from devtools.processes import Process, StartError, stop_all
from devtools.redis_server import free_port, start_embedded

BYTES_GOAL = 256
LOADED_FOR_MEMORY = 1000


def _starter(kind: str, launcher: Launcher) -> Callable[[str], Deployment]:
    def start(redis_url: str) -> Deployment:
        dedicated = Launcher(redis_url, launcher.log_dir, launcher.cpus)
        if kind == MONOLITH_1W:
            return single(MONOLITH_1W, dedicated.monolith(1))
        return start_services(dedicated)
    return start


def _probe_goals(name: str, result: dict[str, Any]) -> list[Goal]:
    goals = []
    for workload in ("send", "check"):
        value = result[workload]["commands_per_request"]
        goals.append(Goal(f"Redis commands per {workload} ({name})", value, "<= 1",
                          value <= 1, f"{result[workload]['commands']}"))
    written = result["memory"]
    goals.append(bytes_goal(name, written.get("core_bytes"), written.get("storage_version")))
    return goals


def bytes_goal(name: str, core: float | None, version: object) -> Goal:
    what = {3: "its record", 2: "record + pending index"}.get(version if isinstance(version, int)
                                                               else 0, "?")
    return Goal(f"Redis bytes per pending verification ({name})", core, f"<= {BYTES_GOAL}",
                None if core is None else core <= BYTES_GOAL,
                f"storage version {version}: {what}; counters reported apart")


def loaded_memory(bench: Bench) -> None:
    """Bytes per pending verification of each storage version, as the bench's loader writes
    them (the contract's format, no target involved): the before/after in one run."""
    log(f"== Redis bytes per pending verification, storage versions 2 and 3 "
        f"({LOADED_FOR_MEMORY:,} loaded each, dedicated Redis)")
    server = start_embedded(free_port())
    try:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        try:
            result = memory.loaded_bytes(
                client, pepper=PROFILE["CODE_PEPPER"], count=LOADED_FOR_MEMORY,
                ttl_s=int(PROFILE["VERIFY_CODE_TTL_SECONDS"]),
                retention_s=int(PROFILE["VERIFY_RETENTION_SECONDS"]))
        finally:
            client.close()
    finally:
        server.stop()
    bench.report.memory = result
    for version in ("3", "2"):
        log(f"  storage version {version}: {result[version]}")
    bench.report.goals.append(bytes_goal("bench loader", result["3"]["core_bytes"], 3))


def redis_probes(bench: Bench) -> None:
    try:
        loaded_memory(bench)
    except (OSError, redis.RedisError) as exc:
        bench.skip("bytes per pending verification (bench loader)", str(exc))
    for name in (MONOLITH_1W, SERVICES):
        log(f"== Redis probe: {name} (dedicated Redis, {bench.options.probe_requests} requests)")
        server = start_embedded(free_port())
        try:
            result = probe.probe(_starter(name, bench.launcher), server.url,
                                 bench.options.probe_requests, log)
        except (StartError, OSError, KeyError) as exc:
            bench.skip(f"Redis probe {name}", str(exc))
            continue
        finally:
            server.stop()
        bench.report.redis[name] = result
        bench.report.goals.extend(_probe_goals(name, result))


def _delivery(bench: Bench) -> tuple[Process, Process]:
    """The dev inbox and a dispatcher delivering to it, both on the server core."""
    inbox = bench.launcher.devinbox()
    try:
        dispatcher = bench.launcher.dispatcher(inbox)
    except StartError:
        inbox.stop()
        raise
    return inbox, dispatcher


def mixed_flow(bench: Bench) -> None:
    for name in (MONOLITH_1W, SERVICES):
        log(f"== mixed flow: {name} + dispatcher + dev inbox (concurrency raised from 1 until "
            f"flows/s stops growing, {bench.options.duration_s:g}s a step)")
        bench.reset_redis()

        def start(kind: str = name) -> Deployment:
            inbox, dispatcher = _delivery(bench)
            try:
                target = _starter(kind, bench.launcher)(bench.redis_url)
            except StartError:
                stop_all([inbox, dispatcher])
                raise
            target.measured += [dispatcher, inbox]
            target.owned += [dispatcher, inbox]
            target.urls["inbox"] = str(inbox.spec.url)
            return target

        with bench.deployed(f"mixed flow {name}", start) as deployment:
            if deployment is None:
                continue
            before = {proc.spec.name: cpu.tree_seconds([proc.pid])
                      for proc in deployment.measured}
            result = mixed.sweep(
                deployment.url_for("send"), deployment.url_for("check"),
                deployment.urls["inbox"], step_s=bench.options.duration_s,
                repeat=bench.options.repeat,
                progress=lambda point: log(
                    f"  {point['concurrency']:>3} flows at once: {point['flows_per_s']} flows/s, "
                    f"flow p99 {point['flow_p99_ms']} ms, delivery p50 "
                    f"{point['delivery_p50_ms']} ms"))
            used = {proc.spec.name: cpu.tree_seconds([proc.pid]) - before[proc.spec.name]
                    for proc in deployment.measured}
            # CPU was counted over every step and repeat: so are the flows
            flows = sum(int(point["flows_all_repeats"]) for point in result["curve"])
            result["cpu_s_per_1k_flows"] = (
                round(sum(used.values()) * 1000 / flows, 3) if flows else None)
            # Which process a flow's CPU goes to: where the next saving is.
            result["cpu_s_per_1k_flows_by_process"] = {
                name: round(seconds * 1000 / flows, 3) for name, seconds in used.items()
            } if flows else {}
            result["note"] = "CPU counts the app, the dispatcher and the dev inbox"
            bench.report.mixed[name] = result
            log(f"  {name}: {result}")
