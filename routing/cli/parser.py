"""The argparse tree of `python -m routing` (handlers: commands.py, promote.py, aws.py)."""

from __future__ import annotations

import argparse

from routing.cli import aws, commands, promote
from routing.table.plans import parse_duration


def _steps(text: str) -> list[int]:
    try:
        steps = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"steps are percents like 5,25,50,100: {text!r}") \
            from error
    if not steps or any(not 0 < s <= 100 for s in steps) or steps != sorted(steps):
        raise argparse.ArgumentTypeError("steps must rise within 1..100, e.g. 5,25,50,100")
    return steps


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _front_door_flags(cmd: argparse.ArgumentParser) -> None:
    door = cmd.add_argument_group("front door (default: the table file only)")
    door.add_argument("--gateway", metavar="URL", help="the local gateway: it serves the "
                      "table and its status.json is the evidence")
    door.add_argument("--listener-arn", help="a live ALB listener: weights through elbv2, "
                      "evidence from CloudWatch")
    door.add_argument("--region", help="AWS region (default: the AWS config's)")
    door.add_argument("--tg-name-prefix", default="", help="live target groups are named "
                      "PREFIX + table name")
    door.add_argument("--base-url", help="with --listener-arn: the URL clients use (for the "
                      "contract hook)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m routing", description="Inspect and change the route table; render it to "
        "ALB listener rules; compare it with (and push weights to) a live ALB.")
    parser.add_argument("--table", help="route table (default: $ROUTING_TABLE or "
                        "routing/routes.toml)")
    parser.add_argument("--audit-log", help="JSON-lines audit log (default: $ROUTING_AUDIT_LOG "
                        "or audit.log next to the table)")
    sub = parser.add_subparsers(dest="command", required=True)

    show = sub.add_parser("show", help="rules, conditions and weights")
    show.add_argument("--live", metavar="URL", help="add live counts from this gateway")
    show.set_defaults(handler=commands.cmd_show)

    sub.add_parser("check", help="validate against ALB rules; warn about shadowed rules") \
        .set_defaults(handler=commands.cmd_check)

    shift = sub.add_parser("shift", help="give GROUP PERCENT of a rule's traffic")
    shift.add_argument("rule", help="rule name ('default' for the default action)")
    shift.add_argument("--to", required=True, metavar="GROUP")
    shift.add_argument("percent", type=int)
    shift.set_defaults(handler=commands.cmd_shift)

    prom = sub.add_parser(
        "promote", help="walk a rule's plan ([plans.RULE]), each step judged on evidence",
        description="Run the rule's plan from the table, or an ad-hoc one (--to, --steps, "
        "--pause). Exit codes: 0 completed, 3 held (inconclusive: not enough evidence), "
        "4 failed and rolled back, 5 aborted, 1 error.")
    prom.add_argument("rule")
    prom.add_argument("--to", metavar="GROUP", help="ad-hoc plan: the group that gains traffic")
    prom.add_argument("--steps", type=_steps, help="ad-hoc plan: percents like 5,25,50,100")
    prom.add_argument("--pause", type=_duration, default=30.0, metavar="DURATION",
                      help="ad-hoc plan: bake time of each step below 100%% (default 30s)")
    prom.add_argument("--resume", action="store_true", help="continue a plan whose CLI was "
                      "killed or that is holding (inconclusive), at its current step")
    prom.add_argument("--json", action="store_true", help="one JSON object per event")
    prom.add_argument("--poll", type=_duration, metavar="DURATION", help="how often evidence "
                      "is judged (default 1s; 60s with --listener-arn)")
    prom.add_argument("--max-hold", type=_duration, default=0.0, metavar="DURATION",
                      help="keep judging an inconclusive step this long before exiting 3")
    prom.add_argument("--no-hooks", action="store_true", help="skip the plan's hooks")
    gate = prom.add_argument_group("gate (override the plan's)")
    gate.add_argument("--confidence", type=float)
    gate.add_argument("--max-error-ratio", "--max-error-delta", dest="max_error_ratio",
                      type=float, help="absolute ceiling on the new group's 5xx ratio")
    gate.add_argument("--min-requests", type=int, help="per side by the end of each bake")
    gate.add_argument("--max-p99-ratio", type=float)
    gate.add_argument("--p99-slack-ms", type=float)
    _front_door_flags(prom)
    prom.set_defaults(handler=promote.cmd_promote)

    for name, handler, text in (
            ("pause", promote.cmd_pause, "pause a running plan (its bake clock stops)"),
            ("resume", promote.cmd_resume, "resume a paused plan"),
            ("abort", promote.cmd_abort, "stop a plan and roll its rule back to the weights "
                                         "before it")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("rule")
        if name == "abort":
            _front_door_flags(cmd)
        cmd.set_defaults(handler=handler)

    back = sub.add_parser("rollback", help="restore a rule's weights before its last plan or "
                          "shift, whichever was later")
    back.add_argument("rule")
    back.set_defaults(handler=commands.cmd_rollback)

    render = sub.add_parser("render", help="CloudFormation JSON of the listener rules")
    render.add_argument("-o", "--output", help="file to write (default: stdout)")
    render.set_defaults(handler=commands.cmd_render)

    for name, handler, text in (
            ("verify", aws.cmd_verify, "compare a live ALB listener with the table"),
            ("apply", aws.cmd_apply, "push forward weights to a live ALB, then verify")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--listener-arn", required=True)
        cmd.add_argument("--region", help="AWS region (default: the AWS config's)")
        cmd.add_argument("--tg-name-prefix", default="", help="live target groups are named "
                         "PREFIX + table name (default: no prefix)")
        cmd.set_defaults(handler=handler)
    return parser
