"""A plan's hooks: commands run before each step (and once after the last); a failing hook
rolls the plan back. The shipped one, `run = "contract"` (optionally followed by pytest
arguments, e.g. `contract -k send`), runs the contract suite through the front door pinned to
the new side with the `X-Backend` header, so the new side is proven on the real front door
before it gets more traffic. Any other `run` is a shell command; both see PROMOTION_* variables.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from routing.conditions.http_header import HttpHeader
from routing.table.model import Forward, RouteTable
from routing.table.plans import Hook, Plan

PIN_HEADER = "X-Backend"
OUTPUT_TAIL = 2000  # characters of a hook's output kept in the state and printed on failure
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class HookResult:
    name: str
    command: str  # as run (the contract hook's argv joined), for the record
    exit_code: int
    seconds: float
    output_tail: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def pin_value(table: RouteTable, group: str) -> str | None:
    """The `X-Backend` value of a rule that forwards everything to `group` (the table's pin
    rules: pin-services-verification-checks sends `X-Backend: services` to verify)."""
    for rule in table.by_priority:
        if not isinstance(rule.action, Forward):
            continue
        weights = rule.action.weight_map()
        if not weights.get(group) or any(w for g, w in weights.items() if g != group):
            continue
        for condition in rule.conditions:
            if isinstance(condition, HttpHeader) and condition.name.lower() == PIN_HEADER.lower():
                return condition.values[0]
    return None


def command_of(hook: Hook, base_url: str | None, pin: str | None) -> list[str] | str:
    """The argv of the contract hook, or the shell command of any other."""
    words = shlex.split(hook.run)
    if not words or words[0] != "contract":
        return hook.run
    if base_url is None:
        raise ValueError(f"hook {hook.name!r}: the contract hook needs the front door's URL "
                         "(--gateway, or --base-url with --listener-arn)")
    if pin is None:
        raise ValueError(f"hook {hook.name!r}: no rule of the table pins the new side with an "
                         f"{PIN_HEADER} header; add one (see routing/routes.toml)")
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            str(PROJECT_ROOT / "contract_tests"), "--base-url", base_url,
            "--header", f"{PIN_HEADER}: {pin}", *words[1:]]


def run_hook(hook: Hook, plan: Plan, step: int, weight: int, table: RouteTable,
             base_url: str | None, env: Mapping[str, str] | None = None) -> HookResult:
    started = time.monotonic()
    try:
        command = command_of(hook, base_url, pin_value(table, plan.to))
    except ValueError as error:
        return HookResult(hook.name, hook.run, 2, 0.0, str(error))
    variables = {**(env if env is not None else os.environ),
                 "PROMOTION_RULE": plan.rule, "PROMOTION_TO": plan.to,
                 "PROMOTION_STEP": str(step), "PROMOTION_WEIGHT": str(weight),
                 "PROMOTION_BASE_URL": base_url or ""}
    try:
        # A shell command is the table author's own, like a CI step.
        done = subprocess.run(command, shell=isinstance(command, str), env=variables,
                              cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=hook.timeout_s, check=False)
        code, output = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as error:
        code = 124
        output = f"timed out after {hook.timeout_s:g}s\n" + str(error.stdout or "")
    except OSError as error:
        code, output = 127, f"cannot run {command!r}: {error}"
    shown = command if isinstance(command, str) else shlex.join(command)
    return HookResult(hook.name, shown, code, round(time.monotonic() - started, 2),
                      output[-OUTPUT_TAIL:])
