"""Promotion plans, part of the route table: `[plans.RULE]` says how RULE's traffic moves to a
new target group (steps, each with a bake time), what evidence each step needs (the gate) and
which commands run before each step (hooks). No I/O here; the engine is routing/promotion/.

    [plans.verification-checks]
    to = "verify"
    steps = "canary 10% 5m"            # or "linear 10% every 1m", or
    # steps = [{ weight = 10, bake = "5m" }, { weight = 50, bake = "10m" }, { weight = 100 }]
    min_requests = 200                 # per side, by the end of each bake
    hooks = [{ name = "contract", run = "contract" }]

Presets follow AWS CodeDeploy's and ECS's: a canary goes to its percent, bakes, then to 100; a
linear plan adds its percent at every interval. The step to 100 % has no bake of its own (there is
no baseline left to compare against); hooks marked `after = true` run once it is reached.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
_CANARY = re.compile(r"^canary\s+(\d+(?:\.\d+)?)%\s+(\S+)$")
_LINEAR = re.compile(r"^linear\s+(\d+(?:\.\d+)?)%\s+every\s+(\S+)$")

BUILTIN_HOOKS = ("contract",)
"""`run = "contract"`: the contract suite through the front door, pinned to the new side
(routing/promotion/hooks.py). Any other `run` is a shell command."""


def parse_duration(text: str | int | float) -> float:
    """"5m", "90s", "1.5h", "250ms" or a number of seconds -> seconds."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"a duration cannot be negative: {text}")
        return float(text)
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"not a duration: {text!r} (like 90s, 5m, 1h)")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def duration_text(seconds: float) -> str:
    if seconds and seconds % 3600 == 0:
        return f"{seconds / 3600:g}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"


@dataclass(frozen=True)
class Step:
    weight: int  # percent of the rule's traffic on the new group during this step
    bake_s: float  # how long the step is judged before the next one (0 for the last step)


@dataclass(frozen=True)
class Gate:
    """What a bake needs to pass; docs/promotion.md explains each number."""

    confidence: float = 0.95  # of the sequential error test: false aborts stay under 1 - this
    max_error_ratio: float = 0.05  # absolute ceiling on the new side's 5xx share of its requests
    min_requests: int = 100  # per side by the end of a bake, else the verdict is inconclusive
    max_p99_ratio: float = 1.5  # new side's p99 latency against the baseline's ...
    p99_slack_ms: float = 25.0  # ... beyond this absolute difference (small p99s are noisy)


@dataclass(frozen=True)
class Hook:
    name: str
    run: str  # "contract" (BUILTIN_HOOKS) or a shell command
    timeout_s: float = 600.0
    after: bool = False  # run once after the last step instead of before every step


@dataclass(frozen=True)
class Plan:
    rule: str
    to: str  # the target group that gains traffic
    steps: tuple[Step, ...]
    gate: Gate = field(default_factory=Gate)
    hooks: tuple[Hook, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)  # as written, for dumps

    def describe(self) -> str:
        parts = [f"{s.weight}%" + (f" {duration_text(s.bake_s)}" if s.bake_s else "")
                 for s in self.steps]
        return " -> ".join(parts)


def preset_steps(text: str) -> tuple[Step, ...]:
    """"canary 10% 5m" -> 10 % for 5 min, then 100; "linear 25% every 1m" -> 25, 50, 75, 100."""
    words = " ".join(text.split()).lower()
    if match := _CANARY.match(words):
        percent, bake = float(match.group(1)), parse_duration(match.group(2))
        if not 0 < percent < 100 or percent != int(percent):
            raise ValueError(f"a canary's percent must be a whole number in 1..99: {text!r}")
        return (Step(int(percent), bake), Step(100, 0.0))
    if match := _LINEAR.match(words):
        percent, bake = float(match.group(1)), parse_duration(match.group(2))
        if not 0 < percent < 100 or percent != int(percent):
            raise ValueError(f"a linear step must be a whole number in 1..99: {text!r}")
        weights = [*range(int(percent), 100, int(percent)), 100]
        return tuple(Step(w, bake if w < 100 else 0.0) for w in weights)
    raise ValueError(f"not a plan preset: {text!r} (like 'canary 10% 5m' or "
                     "'linear 10% every 1m', or a list of { weight, bake } steps)")


def check_steps(steps: tuple[Step, ...]) -> None:
    weights = [s.weight for s in steps]
    if not steps:
        raise ValueError("a plan needs at least one step")
    if any(not 0 < w <= 100 for w in weights) or weights != sorted(set(weights)):
        raise ValueError(f"step weights must rise within 1..100: {weights}")
    if any(s.bake_s <= 0 for s in steps if s.weight < 100):
        raise ValueError("every step below 100% needs a bake time (evidence is judged then)")


def ad_hoc_plan(rule: str, to: str, weights: list[int], bake_s: float,
                gate: Gate | None = None, hooks: tuple[Hook, ...] = ()) -> Plan:
    """The plan of `promote --steps 5,25,100 --pause 30`."""
    steps = tuple(Step(w, bake_s if w < 100 else 0.0) for w in weights)
    check_steps(steps)
    return Plan(rule, to, steps, gate or Gate(), hooks)


def parse_plan(rule: str, raw: object, fail: Callable[[str, str], None]) -> Plan | None:
    """`[plans.RULE]` -> Plan; each problem goes to `fail(field, message)`, None if any."""
    if not isinstance(raw, dict):
        fail("plan", "must be a table like [plans.RULE] with to and steps")
        return None
    before = [0]

    def problem(where: str, message: str) -> None:
        before[0] += 1
        fail(where, message)

    to = raw.get("to")
    if not isinstance(to, str) or not to:
        problem("plan.to", "must name the target group that gains traffic")
    steps = _steps(raw.get("steps"), problem)
    gate = _gate(raw, problem)
    hooks = _hooks(raw.get("hooks", []), problem)
    known = {"to", "steps", "hooks", *Gate.__dataclass_fields__}
    for key in sorted(set(raw) - known):
        problem(f"plan.{key}", f"is not a plan setting (one of {', '.join(sorted(known))})")
    if before[0] or not isinstance(to, str):
        return None
    return Plan(rule, to, steps, gate, hooks, raw)


def _steps(raw: object, fail: Callable[[str, str], None]) -> tuple[Step, ...]:
    try:
        if isinstance(raw, str):
            steps = preset_steps(raw)
        elif isinstance(raw, list) and raw and all(isinstance(s, dict) for s in raw):
            steps = tuple(Step(_weight(s), parse_duration(s.get("bake", 0))) for s in raw)
        else:
            raise ValueError("must be a preset like 'canary 10% 5m' or a list of "
                             "{ weight = 10, bake = \"5m\" }")
        check_steps(steps)
    except ValueError as error:
        fail("plan.steps", str(error))
        return ()
    return steps


def _weight(step: dict[str, Any]) -> int:
    weight = step.get("weight")
    if not isinstance(weight, int) or isinstance(weight, bool):
        raise ValueError(f"each step needs an integer weight (percent): {step}")
    unknown = set(step) - {"weight", "bake"}
    if unknown:
        raise ValueError(f"a step has weight and bake only, not {', '.join(sorted(unknown))}")
    return weight


def _gate(raw: dict[str, Any], fail: Callable[[str, str], None]) -> Gate:
    values: dict[str, Any] = {}
    for name, spec in Gate.__dataclass_fields__.items():
        if name not in raw:
            continue
        value, default = raw[name], spec.default
        if isinstance(value, bool) or not isinstance(value, int | float) or \
                (isinstance(default, int) and not isinstance(value, int)):
            fail(f"plan.{name}", f"must be a number like {default}")
            continue
        values[name] = value
    gate = Gate(**values)
    if not 0.5 <= gate.confidence < 1:
        fail("plan.confidence", "must be in [0.5, 1), e.g. 0.95")
    if not 0 < gate.max_error_ratio <= 1:
        fail("plan.max_error_ratio", "must be in (0, 1], e.g. 0.05")
    if gate.min_requests < 1:
        fail("plan.min_requests", "must be at least 1")
    if gate.max_p99_ratio < 1 or gate.p99_slack_ms < 0:
        fail("plan.max_p99_ratio", "must be >= 1 (and p99_slack_ms >= 0)")
    return gate


def _hooks(raw: object, fail: Callable[[str, str], None]) -> tuple[Hook, ...]:
    if not isinstance(raw, list):
        fail("plan.hooks", "must be a list of { name, run } tables")
        return ()
    hooks = []
    for index, spec in enumerate(raw):
        where = f"plan.hooks[{index}]"
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or \
                not isinstance(spec.get("run"), str) or not spec["run"].strip():
            fail(where, "needs name and run (\"contract\" or a shell command)")
            continue
        unknown = set(spec) - {"name", "run", "timeout", "after"}
        if unknown:
            fail(where, f"has name, run, timeout and after only, not {', '.join(sorted(unknown))}")
            continue
        try:
            timeout = parse_duration(spec.get("timeout", 600))
        except ValueError as error:
            fail(f"{where}.timeout", str(error))
            continue
        hooks.append(Hook(spec["name"], spec["run"], timeout, bool(spec.get("after", False))))
    return tuple(hooks)
