"""The argparse tree of `python -m routing` (handlers: commands.py, promote.py, aws.py)."""

from __future__ import annotations

import argparse

from routing.cli import aws, commands, promote


def _steps(text: str) -> list[int]:
    try:
        steps = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"steps are percents like 5,25,50,100: {text!r}") \
            from error
    if not steps or any(not 0 < s <= 100 for s in steps) or steps != sorted(steps):
        raise argparse.ArgumentTypeError("steps must rise within 1..100, e.g. 5,25,50,100")
    return steps


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

    prom = sub.add_parser("promote", help="walk GROUP up in steps, gated on live error rates")
    prom.add_argument("rule")
    prom.add_argument("--to", required=True, metavar="GROUP")
    prom.add_argument("--steps", type=_steps, default=[5, 25, 50, 100])
    prom.add_argument("--pause", type=float, default=30.0, metavar="SECONDS",
                      help="time at each step before it is judged (default 30)")
    prom.add_argument("--max-error-delta", type=float, default=0.05,
                      help="abort when GROUP's error ratio exceeds the others' by this much")
    prom.add_argument("--gateway", metavar="URL", help="gateway whose status.json gates each "
                      "step (without it the steps only wait)")
    prom.set_defaults(handler=promote.cmd_promote)

    back = sub.add_parser("rollback", help="restore a rule's weights before its last change")
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
