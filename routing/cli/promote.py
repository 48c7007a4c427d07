"""`promote`: raise a group's share step by step, judging each step on the gateway's counts."""

from __future__ import annotations

import argparse
import sys
import time

from routing.cli.status_client import fetch_status, rule_counts
from routing.table.loader import load_table
from routing.table.model import RouteTable
from routing.table.store import change_weights
from routing.table.weights import shifted, weights_of

WAIT_FOR_RELOAD_S = 15.0


def _wait_for_weights(gateway: str, rule: str, weights: dict[str, int]) -> None:
    """The gateway polls the file; judge a step only once it serves the new weights."""
    deadline = time.monotonic() + WAIT_FOR_RELOAD_S
    while time.monotonic() < deadline:
        status = fetch_status(gateway)
        live = next((r for r in status["rules"] if r["name"] == rule), None)
        if live is not None and live["action"].get("weights") == weights:
            return
        time.sleep(0.1)
    raise TimeoutError(f"the gateway at {gateway} did not pick up the new weights in "
                       f"{WAIT_FOR_RELOAD_S:.0f}s (see its log; `routing show --live`)")


def _ratio(counts: list[tuple[int, int]]) -> tuple[float, int]:
    requests = sum(c[0] for c in counts)
    return (sum(c[1] for c in counts) / requests if requests else 0.0), requests


def judge(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]], to: str,
          max_delta: float) -> tuple[bool, str]:
    """Compare error ratios over the step: `to` against every other group of the rule."""
    def delta(group: str) -> tuple[int, int]:
        old = before.get(group, (0, 0))
        new = after.get(group, (0, 0))
        return new[0] - old[0], new[1] - old[1]

    target, target_requests = _ratio([delta(to)])
    source, source_requests = _ratio([delta(g) for g in after if g != to])
    text = (f"{to}: {target:.1%} errors of {target_requests}; others: {source:.1%} of "
            f"{source_requests}")
    return target - source <= max_delta, text


def _sleep_with_progress(seconds: float) -> None:
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        print(f"    waiting {left:4.1f}s", end="\r", flush=True)
        time.sleep(min(1.0, left))
    print(" " * 24, end="\r")


def cmd_promote(args: argparse.Namespace, table: RouteTable) -> int:
    original = weights_of(table, args.rule)
    for number, percent in enumerate(args.steps, start=1):
        current = weights_of(load_table(args.table), args.rule)
        weights = shifted(current, args.to, percent)
        change_weights(args.table, args.audit_log, args.rule, weights, "promote")
        print(f"[{number}/{len(args.steps)}] {args.rule}: {args.to} at {percent}% -> {weights}",
              flush=True)
        if not args.gateway:
            _sleep_with_progress(args.pause)
            continue
        _wait_for_weights(args.gateway, args.rule, weights)
        before = rule_counts(fetch_status(args.gateway), args.rule)
        _sleep_with_progress(args.pause)
        status = fetch_status(args.gateway)
        healthy = next((g["healthy"] for g in status["target_groups"] if g["name"] == args.to),
                       False)
        ok, text = judge(before, rule_counts(status, args.rule), args.to, args.max_error_delta)
        print(f"    {text}", flush=True)
        if not ok or not healthy:
            reason = "unhealthy" if not healthy else f"error delta above {args.max_error_delta}"
            change_weights(args.table, args.audit_log, args.rule, original, "promote-abort")
            print(f"ABORTED at {percent}% ({reason}); rolled {args.rule} back to {original}",
                  file=sys.stderr)
            return 1
    print(f"promoted {args.to} to {args.steps[-1]}% of {args.rule}")
    return 0
