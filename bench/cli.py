"""Command-line options of `./dev bench` (`python -m bench`)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

GROUPS = ("reference", "monolith", "services", "proxies", "pending", "redis", "mixed")
RESULTS = Path(__file__).parent / "results"


@dataclass(frozen=True)
class Options:
    duration_s: float
    warmup_s: float
    connections: int
    repeat: int
    only: tuple[str, ...]
    quick: bool
    many_pending: int
    probe_requests: int
    storage_version: int
    out_dir: Path

    def wants(self, group: str) -> bool:
        return not self.only or group in self.only


def parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(
        prog="./dev bench",
        description="Measure the monolith, the services and the gateway against reference points "
                    "on this machine. Starts everything itself on loopback; uses its own Redis "
                    "unless REDIS_URL is set (that database is FLUSHED).")
    parser.add_argument("--duration", type=float, default=None,
                        help="seconds per wrk workload (default 5, 2 with --quick)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per workload; the median by requests/s is reported (1)")
    parser.add_argument("--only", action="append", choices=GROUPS, default=[],
                        help="run only these groups (repeatable); proxies and pending also "
                             "measure the services direct; gateway->monolith needs monolith too")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: short workloads, 20,000 pending instead of 1,000,000")
    parser.add_argument("--pending", type=int, default=None,
                        help="pending verifications for the many-pending run (1,000,000)")
    parser.add_argument("--storage-version", type=int, choices=(2, 3), default=3,
                        help="the form the many-pending bulk is loaded in (3); bytes per pending "
                             "verification are measured for both either way")
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help="folder for latest.json and latest.png (bench/results)")
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    duration = args.duration if args.duration is not None else (2.0 if quick else 5.0)
    if duration <= 0 or args.connections < 1 or args.repeat < 1:
        parser.error("--duration, --connections and --repeat must be positive")
    return Options(
        duration_s=duration,
        warmup_s=1.0,
        connections=args.connections,
        repeat=args.repeat,
        only=tuple(args.only),
        quick=quick,
        many_pending=args.pending or (20_000 if quick else 1_000_000),
        probe_requests=50 if quick else 200,
        storage_version=args.storage_version,
        out_dir=args.out,
    )
