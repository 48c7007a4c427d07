"""Run wrk with one of the Lua workloads and read the summary line the scripts print."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench.http import API_KEY
from bench.tools import pinned

LUA_DIR = Path(__file__).parent / "lua"
SUMMARY_PREFIX = "BENCH_JSON "


class WrkFailed(RuntimeError):
    """wrk exited badly or printed no summary; the message carries its output."""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    statuses: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def socket_errors(self) -> int:
        """Connect/read/write/timeout errors (wrk's `status` error is any non-2xx/3xx answer)."""
        return sum(v for k, v in self.errors.items() if k != "status")

    def share(self, status_prefix: str) -> float:
        """Fraction of answers whose status starts with `status_prefix` ("2", "429"...)."""
        total = sum(self.statuses.values())
        hits = sum(v for k, v in self.statuses.items() if k.startswith(status_prefix))
        return hits / total if total else 0.0


def parse_output(stdout: str) -> WrkResult:
    """The WrkResult in wrk's stdout; WrkFailed when the summary line is missing or malformed."""
    for line in stdout.splitlines():
        if line.startswith(SUMMARY_PREFIX):
            try:
                data = json.loads(line[len(SUMMARY_PREFIX):])
                latency = data["latency_us"]
                return WrkResult(
                    requests=int(data["requests"]),
                    duration_s=int(data["duration_us"]) / 1e6,
                    p50_ms=latency["p50"] / 1000,
                    p90_ms=latency["p90"] / 1000,
                    p99_ms=latency["p99"] / 1000,
                    statuses={str(k): int(v) for k, v in data["statuses"].items()},
                    errors={str(k): int(v) for k, v in data["errors"].items()},
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise WrkFailed(f"unreadable wrk summary {line!r}: {exc}") from exc
    raise WrkFailed(f"wrk printed no {SUMMARY_PREFIX.strip()} line:\n{stdout[-2000:]}")


@dataclass(frozen=True)
class WrkJob:
    url: str
    script: str  # file name in bench/lua/
    duration_s: float
    connections: int = 32
    threads: int = 1
    cpus: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    def argv(self, wrk: Path) -> list[str]:
        return pinned([
            str(wrk), f"-t{self.threads}", f"-c{self.connections}",
            f"-d{max(1, round(self.duration_s))}s", "--timeout", "5s",
            "-s", str(LUA_DIR / self.script), self.url,
        ], self.cpus)


def run(wrk: Path, job: WrkJob) -> WrkResult:
    env = {**os.environ, "BENCH_LUA_DIR": str(LUA_DIR), "BENCH_API_KEY": API_KEY, **job.env}
    try:
        done = subprocess.run(job.argv(wrk), env=env, capture_output=True, text=True,
                              timeout=job.duration_s + 30)
    except subprocess.TimeoutExpired as exc:
        raise WrkFailed(f"wrk did not finish within {job.duration_s + 30:.0f}s") from exc
    if done.returncode != 0:
        raise WrkFailed(f"wrk exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return parse_output(done.stdout)
