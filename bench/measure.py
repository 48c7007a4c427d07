"""One measured wrk run: warm up, then sample CPU of the servers and Redis around the real run."""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass
from pathlib import Path

import redis

from bench import cpu, wrkrun
from bench.results import Run
from bench.targets import Deployment

SCRIPTS = {"send": "send.lua", "check": "check.lua"}
_seeds = itertools.count(1000 + secrets.randbelow(4000))


@dataclass(frozen=True)
class Settings:
    wrk: Path
    duration_s: float
    warmup_s: float
    connections: int
    client_cpus: str | None
    ids_file: Path


def redis_cpu_seconds(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _job(settings: Settings, deployment: Deployment, workload: str,
         duration: float) -> wrkrun.WrkJob:
    seed = next(_seeds) % 9000 + 1000  # 4 digits, new for every run: destinations never repeat
    return wrkrun.WrkJob(
        url=deployment.url_for(workload), script=SCRIPTS[workload], duration_s=duration,
        connections=settings.connections, cpus=settings.client_cpus,
        env={"BENCH_SEED": str(seed), "BENCH_IDS_FILE": str(settings.ids_file)},
    )


def measure(settings: Settings, deployment: Deployment, workload: str, client: redis.Redis,
            target: str | None = None) -> Run:
    if settings.warmup_s > 0:
        wrkrun.run(settings.wrk, _job(settings, deployment, workload, settings.warmup_s))
    cpu_before = cpu.tree_seconds(deployment.pids)
    redis_before = redis_cpu_seconds(client)
    result = wrkrun.run(settings.wrk, _job(settings, deployment, workload, settings.duration_s))
    cpu_used = cpu.tree_seconds(deployment.pids) - cpu_before
    redis_used = redis_cpu_seconds(client) - redis_before
    per_1k = 1000 / result.requests if result.requests else None
    return Run(
        target=target or deployment.name, workload=workload, requests=result.requests,
        rps=round(result.rps, 1), p50_ms=result.p50_ms, p99_ms=result.p99_ms,
        cpu_s_per_1k=round(cpu_used * per_1k, 4) if per_1k else None,
        redis_cpu_s_per_1k=round(redis_used * per_1k, 4) if per_1k else None,
        statuses=result.statuses, socket_errors=result.socket_errors, note=deployment.note,
    )
