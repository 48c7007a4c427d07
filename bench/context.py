"""What every phase of a bench run shares: options, tools, the Redis, the report so far."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

from bench import loader, measure, own_pending, wrkrun
from bench.cli import Options
from bench.results import Report, Run, Skipped
from bench.targets import PROFILE, Deployment, Launcher
from devtools.processes import StartError, stop_all

BASELINE_PENDING = 1000
FLUSH_TIMEOUT_S = 120


def log(message: str) -> None:
    print(message, flush=True)


def flush_and_wait(client: redis.Redis, timeout_s: float = FLUSH_TIMEOUT_S) -> None:
    """FLUSHDB ASYNC, then wait for Redis to have freed it all: a synchronous flush of a
    million keys blocks longer than a client's read timeout, and the freeing must be over
    before anything is measured."""
    client.flushdb(asynchronous=True)
    deadline = time.monotonic() + timeout_s
    while int(client.info("memory").get("lazyfree_pending_objects", 0)) > 0:
        if time.monotonic() > deadline:
            raise RuntimeError(f"Redis still freeing the flushed keys after {timeout_s:g} s")
        time.sleep(0.05)


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

    def reset_redis(self, loaded: int = 0) -> None:
        """Empty the database and load `loaded` pending verifications (the keyspace's bulk, in
        `--storage-version`'s form; the check workload's own come from the target)."""
        self.empty_redis()
        if loaded:
            loader.load_pending(
                self.redis, pepper=PROFILE["CODE_PEPPER"], start=0, count=loaded,
                ttl_s=int(PROFILE["VERIFY_CODE_TTL_SECONDS"]),
                retention_s=int(PROFILE["VERIFY_RETENTION_SECONDS"]),
                storage_version=self.options.storage_version, keep_ids=0, progress=log)

    def empty_redis(self) -> None:
        flush_and_wait(self.redis)

    def prepare_checks(self, deployment: Deployment) -> None:
        """The ids the check workload walks: BASELINE_PENDING verifications the target creates
        through its own send API (a reference app keeps none: placeholders)."""
        ids = (own_pending.create(deployment.url_for("send"), BASELINE_PENDING)
               if deployment.creates_records else own_pending.placeholder_ids(BASELINE_PENDING))
        self.settings.ids_file.write_text("\n".join(ids) + "\n")

    def skip(self, what: str, why: str) -> None:
        first_lines = "\n".join(why.strip().splitlines()[-6:])
        log(f"  not measured: {what}: {first_lines}")
        self.report.skipped.append(Skipped(what, why.strip()[-1500:]))

    def measure(self, deployment: Deployment, workloads: tuple[str, ...] = ("send", "check"),
                target: str | None = None) -> None:
        if "check" in workloads:  # created first, so the send workload sees the same keyspace
            try:
                self.prepare_checks(deployment)
            except own_pending.CreateFailed as exc:
                self.skip(f"{target or deployment.name} check", str(exc))
                workloads = tuple(w for w in workloads if w != "check")
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
