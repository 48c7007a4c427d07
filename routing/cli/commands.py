"""`show`, `check`, `shift`, `rollback` and `render`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from routing.alb.render import render_template
from routing.cli.status_client import fetch_status
from routing.table import store
from routing.table.describe import action_text
from routing.table.model import RouteTable
from routing.table.shadow import shadow_warnings
from routing.table.weights import shifted, weights_of


def cmd_show(args: argparse.Namespace, table: RouteTable) -> int:
    live: dict[tuple[str, str], dict[str, float]] = {}
    if args.live:
        status = fetch_status(args.live)
        live = {(t["rule"], t["target_group"]): t for t in status["traffic"]}
        print(f"live from {args.live}: table version {status['table']['version']}"
              + (f", LAST EDIT REFUSED: {status['table']['error']}" if status["table"]["error"]
                 else ""))
    for group in table.target_groups:
        targets = ", ".join(group.target_urls) or "(no registered target)"
        print(f"target group {group.name:<12} {targets} (health {group.health_check_path}, "
              f"{group.algorithm})")
    rows = [(str(r.priority), r.name, " and ".join(c.text() for c in r.conditions),
             r.action) for r in table.by_priority]
    rows.append(("-", "default", "(anything else)", table.default_action))
    for priority, name, conditions, action in rows:
        print(f"{priority:>5}  {name:<34} {conditions}\n       -> {action_text(action)}")
        plan = table.plan(name)
        if plan is not None:
            print(f"       plan: {plan.to} {plan.describe()}"
                  + (f"; hooks {', '.join(h.name for h in plan.hooks)}" if plan.hooks else ""))
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
    weights = shifted(weights_of(table, args.rule), args.to, args.percent)
    before = store.change_weights(args.table, args.audit_log, args.rule, weights, "shift")
    print(f"{args.rule}: {before} -> {weights}")
    return 0


def cmd_rollback(args: argparse.Namespace, table: RouteTable) -> int:
    """Back to the weights before the rule's latest shift or plan, whichever was later."""
    from routing.promotion import state

    run = state.load(args.table, args.rule)
    if run is not None and run.status in ("running", "paused") and state.pid_alive(run.pid):
        print(f"error: a plan of {args.rule!r} is {run.status} (process {run.pid}); "
              f"`routing abort {args.rule}` stops it and rolls it back", file=sys.stderr)
        return 1
    last = store.last_undoable(args.audit_log, args.rule)
    if last is None:
        print(f"no shift or plan of {args.rule!r} in {args.audit_log}; nothing to roll back",
              file=sys.stderr)
        return 1
    previous = {str(k): int(v) for k, v in last["from"].items()}
    what = (f"the plan {last.get('plan', '')!r} to {last.get('to_group', '?')}"
            if last["command"] == "plan-start" else f"the shift to {last['to']}")
    before = store.change_weights(args.table, args.audit_log, args.rule, previous, "rollback",
                                  undid=f"{last['command']} at {last['when']}")
    print(f"{args.rule}: {before} -> {previous} (undid {what} by {last['who']} at "
          f"{last['when']})")
    return 0


def cmd_render(args: argparse.Namespace, table: RouteTable) -> int:
    text = render_template(table).to_json() + "\n"
    if args.output:
        store.write_atomically(Path(args.output), text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
