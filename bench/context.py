"""What every phase of a bench run shares: options, tools, the Redis, the report so far."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

from bench import loader, measure, wrkrun
from bench.cli import Options
from bench.results import Report, Run, Skipped
from bench.targets import PROFILE, Deployment, Launcher
from devtools.processes import StartError, stop_all

BASELINE_PENDING = 1000


def log(message: str) -> None:
    print(message, flush=True)


def median_run(runs: list[Run]) -> Run:
    """The run with the median requests/s (the upper one of an even count), all rates kept."""
    middle = sorted(runs, key=lambda r: r.rps)[len(runs) // 2]
    return dataclasses.replace(middle, rps_samples=tuple(r.rps for r in runs))


@dataclass
class Bench:
    options: Options
    tools: dict[str, Path]
    redis_url: str
    redis: redis.Redis
    launcher: Launcher
    settings: measure.Settings
    report: Report

    def reset_redis(self, pending: int = BASELINE_PENDING) -> None:
        """Empty the database and load `pending` verifications for the check workload."""
        self.redis.flushdb()
        ids = loader.load_pending(
            self.redis, pepper=PROFILE["CODE_PEPPER"], start=0, count=pending,
            ttl_s=int(PROFILE["VERIFY_CODE_TTL_SECONDS"]),
            retention_s=int(PROFILE["VERIFY_RETENTION_SECONDS"]), progress=log)
        self.settings.ids_file.write_text("\n".join(ids[:BASELINE_PENDING]) + "\n")

    def skip(self, what: str, why: str) -> None:
        first_lines = "\n".join(why.strip().splitlines()[-6:])
        log(f"  not measured: {what}: {first_lines}")
        self.report.skipped.append(Skipped(what, why.strip()[-1500:]))

    def measure(self, deployment: Deployment, workloads: tuple[str, ...] = ("send", "check"),
                target: str | None = None) -> None:
        for workload in workloads:
            try:
                runs = [measure.measure(self.settings, deployment, workload, self.redis, target)
                        for _ in range(self.options.repeat)]
            except wrkrun.WrkFailed as exc:
                self.skip(f"{target or deployment.name} {workload}", str(exc))
                continue
            run = median_run(runs)
            self.report.runs.append(run)
            log(f"  {run.target:24} {workload:6} {run.rps:9,.0f} req/s  p50 {run.p50_ms:6.2f} ms"
                f"  p99 {run.p99_ms:6.2f} ms  cpu/1k {run.cpu_s_per_1k}  {run.statuses}")

    @contextlib.contextmanager
    def deployed(self, what: str, start: Callable[[], Deployment]) -> Iterator[Deployment | None]:
        """Start a deployment, yield it (None when it could not start), stop it afterwards."""
        try:
            deployment = start()
        except StartError as exc:
            self.skip(what, str(exc))
            yield None
            return
        try:
            yield deployment
        finally:
            stop_all(deployment.owned)
