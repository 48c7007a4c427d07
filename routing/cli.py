"""`python -m routing show|check|shift|promote|rollback|render|verify|apply`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from routing import store
from routing.alb import render_template
from routing.describe import action_text, condition_text
from routing.loader import load_table
from routing.model import RouteTable
from routing.problems import TableError
from routing.shadow import shadow_warnings
from routing.status_client import fetch_status
from routing.weights import shifted, with_weights


def change_weights(table_file: Path, audit_log: Path, rule: str, weights: dict[str, int],
                   command: str) -> dict[str, int]:
    """Write the new weights (atomically) and log who changed what; returns the old weights."""
    table = load_table(table_file)
    before = store.weights_of(table, rule)
    store.save_table(table_file, with_weights(table, rule, weights))
    store.append_audit(audit_log, rule, before, weights, command)
    return before


def cmd_show(args: argparse.Namespace, table: RouteTable) -> int:
    live: dict[tuple[str, str], dict[str, float]] = {}
    if args.live:
        status = fetch_status(args.live)
        live = {(t["rule"], t["target_group"]): t for t in status["traffic"]}
        print(f"live from {args.live}: table version {status['table']['version']}"
              + (f", LAST EDIT REFUSED: {status['table']['error']}" if status["table"]["error"]
                 else ""))
    for group in table.target_groups:
        print(f"target group {group.name:<12} {group.url}{group.health_check_path}")
    rows = [(str(r.priority), r.name, " and ".join(condition_text(c) for c in r.conditions),
             r.action) for r in table.by_priority]
    rows.append(("-", "default", "(anything else)", table.default_action))
    for priority, name, conditions, action in rows:
        print(f"{priority:>5}  {name:<34} {conditions}\n       -> {action_text(action)}")
        for (rule, group_name), counts in sorted(live.items()):
            if rule == name:
                print(f"          {group_name}: {int(counts['requests_total'])} requests, "
                      f"{int(counts['errors_total'])} errors, {counts['request_rate']}/s")
    return 0


def cmd_check(args: argparse.Namespace, table: RouteTable) -> int:
    for warning in shadow_warnings(table):
        print(f"warning: {warning}")
    print(f"{args.table}: ok ({len(table.rules)} rules, {len(table.target_groups)} target groups)")
    return 0


def cmd_shift(args: argparse.Namespace, table: RouteTable) -> int:
    weights = shifted(store.weights_of(table, args.rule), args.to, args.percent)
    before = change_weights(args.table, args.audit_log, args.rule, weights, "shift")
    print(f"{args.rule}: {before} -> {weights}")
    return 0


def cmd_rollback(args: argparse.Namespace, table: RouteTable) -> int:
    last = store.last_change(args.audit_log, args.rule)
    if last is None:
        print(f"no change to {args.rule!r} in {args.audit_log}; nothing to roll back",
              file=sys.stderr)
        return 1
    previous = {str(k): int(v) for k, v in last["from"].items()}
    before = change_weights(args.table, args.audit_log, args.rule, previous, "rollback")
    print(f"{args.rule}: {before} -> {previous} (undoing {last['command']} by {last['who']} "
          f"at {last['when']})")
    return 0


def cmd_render(args: argparse.Namespace, table: RouteTable) -> int:
    text = render_template(table).to_json() + "\n"
    if args.output:
        store.write_atomically(Path(args.output), text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    from routing.cli_parser import build_parser

    args = build_parser().parse_args(argv)
    args.table = store.table_path(args.table)
    args.audit_log = store.audit_path(args.table, args.audit_log)
    try:
        table = load_table(args.table)
        return int(args.handler(args, table))
    except TableError as error:
        for problem in error.problems:
            print(f"error: {args.table}: {problem}", file=sys.stderr)
        return 1
    except (KeyError, ValueError, OSError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"error: {message}", file=sys.stderr)
        return 1

