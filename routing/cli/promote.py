"""`promote`, `pause`, `resume`, `abort`: a rule's plan (routing/table/plans.py) walked by the
engine (routing/promotion/engine.py) on the local gateway or a live ALB (--listener-arn)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from typing import Any

from routing.promotion import state
from routing.promotion.engine import (
    EXIT_ERROR,
    Engine,
    Options,
    PlanError,
    Reporter,
    abort_finished_run,
)
from routing.promotion.evidence import EvidenceSource
from routing.promotion.frontdoor import FrontDoor, FrontDoorError
from routing.promotion.gateway import GatewayEvidence, GatewayFrontDoor, TableOnly
from routing.table.model import RouteTable
from routing.table.plans import Gate, Plan, Step, ad_hoc_plan

REQUEST_TIMEOUT_S = 30.0
CLOUDWATCH_POLL_S = 60.0  # its ALB metrics have one-minute resolution


class NoEvidence:
    """Without a gateway or an ALB there is nothing to judge: every bake ends inconclusive."""

    def describe(self) -> str:
        return "nowhere (no --gateway or --listener-arn: every step will be inconclusive)"

    def open_window(self, rule: str) -> NoEvidence:
        return self

    def read(self) -> dict[str, object]:
        return {}


def front_door_and_evidence(args: argparse.Namespace) -> tuple[FrontDoor, EvidenceSource]:
    if getattr(args, "listener_arn", None):
        from routing.promotion.aws import aws_front_door_and_evidence

        return aws_front_door_and_evidence(args.listener_arn, args.region, args.tg_name_prefix,
                                           args.base_url)
    if getattr(args, "gateway", None):
        return GatewayFrontDoor(args.gateway), GatewayEvidence(args.gateway)
    return TableOnly(), NoEvidence()  # type: ignore[return-value]


def _gate_flags(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name) for name in Gate.__dataclass_fields__
            if getattr(args, name, None) is not None}


def plan_for(args: argparse.Namespace, table: RouteTable) -> Plan:
    """The table's plan for the rule, or an ad-hoc one from --to/--steps/--pause."""
    written = table.plan(args.rule)
    gate_flags = _gate_flags(args)
    if args.steps is None and args.to is None:
        if written is None:
            raise PlanError(f"rule {args.rule!r} has no [plans.{args.rule}] in the table; add "
                            "one, or give --to GROUP --steps 10,50,100 --pause 60")
        if gate_flags:
            return dataclasses.replace(written, gate=dataclasses.replace(written.gate,
                                                                         **gate_flags))
        return written
    to = args.to or (written.to if written else None)
    if to is None:
        raise PlanError("--steps needs --to GROUP (the rule has no plan to take it from)")
    base = written.gate if written else Gate()
    return ad_hoc_plan(args.rule, to, args.steps or [5, 25, 50, 100], args.pause,
                       dataclasses.replace(base, **gate_flags),
                       written.hooks if written and args.to in (None, written.to) else ())


def cmd_promote(args: argparse.Namespace, table: RouteTable) -> int:
    reporter = Reporter(as_json=args.json)
    try:
        if args.resume:
            run = state.load(args.table, args.rule)
            if run is None:
                raise PlanError(f"no plan of {args.rule!r} to resume; `routing promote "
                                f"{args.rule}` starts one")
            plan = _plan_of_run(run, table)
            plan = dataclasses.replace(plan, gate=dataclasses.replace(plan.gate,
                                                                      **_gate_flags(args)))
        else:
            plan = plan_for(args, table)
        front_door, evidence = front_door_and_evidence(args)
        poll = args.poll if args.poll is not None else (
            CLOUDWATCH_POLL_S if args.listener_arn else 1.0)
        engine = Engine(args.table, args.audit_log, plan, front_door, evidence, reporter,
                        Options(poll_s=poll, max_hold_s=args.max_hold,
                                run_hooks=not args.no_hooks))
        return engine.resume() if args.resume else engine.start()
    except (PlanError, FrontDoorError) as error:
        reporter.event("error", f"error: {error}", error=True, exit_code=EXIT_ERROR)
        return EXIT_ERROR
    except KeyboardInterrupt:
        reporter.event("interrupted", f"interrupted: {args.rule} stays at its current weights; "
                       f"`routing promote {args.rule} --resume` continues the plan, `routing "
                       f"abort {args.rule}` rolls it back", error=True, exit_code=130)
        return 130


def _plan_of_run(run: state.Run, table: RouteTable) -> Plan:
    """A resumed run keeps its own steps (the table's plan may have changed since)."""
    written = table.plan(run.rule)
    steps = tuple(Step(int(s["weight"]), float(s["bake_s"])) for s in run.steps)
    gate = written.gate if written else Gate()
    hooks = written.hooks if written and written.to == run.to else ()
    return Plan(run.rule, run.to, steps, gate, hooks)


def _request(args: argparse.Namespace, request: state.Request, waits_for: tuple[str, ...]
             ) -> int:
    run = state.load(args.table, args.rule)
    if run is None or run.status in state.FINISHED:
        print(f"error: no running plan of {args.rule!r}"
              + (f" (the last one {run.status})" if run else ""), file=sys.stderr)
        return EXIT_ERROR
    if not state.pid_alive(run.pid):
        print(f"error: the plan of {args.rule!r} is not running (its CLI, process {run.pid}, "
              f"is gone; status {run.status}): `routing promote {args.rule} --resume` "
              f"continues it, `routing abort {args.rule}` rolls it back", file=sys.stderr)
        return EXIT_ERROR
    state.send_request(args.table, args.rule, request)
    deadline = time.monotonic() + REQUEST_TIMEOUT_S
    while time.monotonic() < deadline:
        run = state.load(args.table, args.rule)
        if run is not None and run.status in waits_for:
            print(f"{args.rule}: {run.status} ({run.message})")
            return 0
        time.sleep(0.2)
    print(f"error: the plan's CLI (process {run.pid if run else '?'}) did not answer in "
          f"{REQUEST_TIMEOUT_S:.0f}s; it reads requests between polls", file=sys.stderr)
    return EXIT_ERROR


def cmd_pause(args: argparse.Namespace, table: RouteTable) -> int:
    return _request(args, "pause", ("paused",))


def cmd_resume(args: argparse.Namespace, table: RouteTable) -> int:
    return _request(args, "resume", ("running", "completed", "failed", "inconclusive"))


def cmd_abort(args: argparse.Namespace, table: RouteTable) -> int:
    run = state.load(args.table, args.rule)
    if run is not None and run.status in ("running", "paused") and state.pid_alive(run.pid):
        return _request(args, "abort", ("aborted",))
    try:
        front_door, _ = front_door_and_evidence(args)
        print(abort_finished_run(args.table, args.audit_log, args.rule, front_door))
    except (PlanError, FrontDoorError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    return 0
