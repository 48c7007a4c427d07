"""`python -m bench`: install tools, start a Redis, run the chosen groups, report."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

import redis

from bench import cli, measure, phases, phases_extra, plot, ratios, report, tools
from bench.context import Bench, log
from bench.results import Report
from bench.targets import Launcher
from devtools.redis_server import redis_url_or_embedded

SERVER_CPUS, CLIENT_CPUS = "0", "1"


def _meta(options: cli.Options, paths: dict[str, Path], client: redis.Redis) -> dict[str, object]:
    wrk_version = subprocess.run([str(paths["wrk"]), "-v"], capture_output=True, text=True)
    return {
        "started_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cores": tools.cores(), "python": platform.python_version(),
        "redis_version": client.info("server").get("redis_version"),
        "redis": "REDIS_URL" if os.environ.get("REDIS_URL") else "own embedded server",
        "wrk": (wrk_version.stdout or wrk_version.stderr).splitlines()[0],
        "duration_s": options.duration_s, "warmup_s": options.warmup_s,
        "connections": options.connections, "wrk_threads": 1, "repeat": options.repeat,
        "quick": options.quick,
        "only": list(options.only),
        "pinning": f"servers on core {SERVER_CPUS}, wrk on core {CLIENT_CPUS}"
                   if tools.cores() >= 2 else "unpinned (fewer than 2 cores)",
    }


def run(options: cli.Options, paths: dict[str, Path], redis_url: str, workdir: Path) -> Report:
    two_cores = tools.cores() >= 2
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    bench = Bench(
        options=options, tools=paths, redis_url=redis_url, redis=client,
        launcher=Launcher(redis_url, workdir / "logs", SERVER_CPUS if two_cores else None),
        settings=measure.Settings(
            wrk=paths["wrk"], duration_s=options.duration_s, warmup_s=options.warmup_s,
            connections=options.connections, client_cpus=CLIENT_CPUS if two_cores else None,
            ids_file=workdir / "ids.txt"),
        report=Report(),
    )
    bench.report.meta = _meta(options, paths, client)
    order: list[tuple[tuple[str, ...], Callable[[Bench], None]]] = [
        (("reference",), phases.references),
        (("monolith",), phases.monolith),
        (("services", "proxies", "pending"), phases.services),  # proxies need the direct run
        (("redis",), phases_extra.redis_probes),
        (("mixed",), phases_extra.mixed_flow),
    ]
    try:
        for groups, phase in order:
            if any(options.wants(group) for group in groups):
                try:
                    phase(bench)
                except Exception as exc:  # one broken group must not lose the others' numbers
                    bench.skip(f"group {'/'.join(groups)}",
                               f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
    finally:
        client.close()
    bench.report.goals = ratios.throughput_goals(bench.report) + bench.report.goals
    return bench.report


def main(argv: list[str]) -> int:
    options = cli.parse(argv)
    try:
        paths = tools.ensure(["wrk", "nginx"])
    except (tools.ToolMissing, OSError) as exc:
        log(f"bench: {exc}")
        return 2
    if options.quick:
        log("bench: --quick smoke run: numbers are short and noisy, not for comparison")
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, redis_url_or_embedded() as url:
        log(f"bench: Redis at {url}; logs in {tmp}/logs (kept while running)")
        result = run(options, paths, url, Path(tmp))
    json_path = report.write(result, options.out_dir)
    png_path = plot.write(result, options.out_dir)
    log("\n" + report.render(result))
    log(f"\nbench: wrote {json_path}" + (f" and {png_path}" if png_path else ""))
    return 0
