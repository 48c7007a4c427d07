"""Walk a plan: for each step run the hooks, write the weights to the table, have the front door
serve them, then judge the bake on evidence until it passes, fails (roll back at once to the
weights before the plan) or ends inconclusive (hold at this weight). The run is saved after
every poll (state.py), so another terminal can pause, resume or abort it and a killed CLI can
resume it. Exit codes (EXIT_*) are for CI jobs.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from routing.promotion import state
from routing.promotion.evidence import EvidenceSource, GroupWindow, Verdict
from routing.promotion.frontdoor import FrontDoor, FrontDoorError
from routing.promotion.gate import baseline_of, judge
from routing.promotion.hooks import HookResult, run_hook
from routing.table.loader import load_table
from routing.table.plans import Plan, Step
from routing.table.store import append_audit, change_weights, who
from routing.table.weights import shifted, weights_of

EXIT_COMPLETED = 0
EXIT_ERROR = 1  # bad input, or a front door that cannot be reached (nothing judged)
EXIT_INCONCLUSIVE = 3  # held at the current weight: not enough evidence
EXIT_FAILED = 4  # the gate or a hook failed; the rule is back at its weights before the plan
EXIT_ABORTED = 5  # `routing abort` from another terminal; rolled back likewise

PROGRESS_EVERY_S = 10.0


class PlanError(RuntimeError):
    """The plan cannot start or resume; the message says what to do."""


@dataclass(frozen=True)
class Options:
    poll_s: float = 1.0  # how often the evidence is read and judged during a bake
    max_hold_s: float = 0.0  # keep judging an inconclusive step this long before exiting
    run_hooks: bool = True


class Reporter:
    """Readable lines, or with `--json` one JSON object per event on stdout."""

    def __init__(self, as_json: bool = False, out: TextIO | None = None,
                 err: TextIO | None = None) -> None:
        self.as_json = as_json
        self.out, self.err = out or sys.stdout, err or sys.stderr

    def event(self, kind: str, text: str, *, error: bool = False, **data: Any) -> None:
        if self.as_json:
            print(json.dumps({"event": kind, **data, "text": text}), file=self.out, flush=True)
        else:
            print(text, file=self.err if error else self.out, flush=True)


def verdict_text(verdict: Verdict) -> str:
    lines = [f"    verdict {verdict.outcome.upper()}" + (f": {verdict.reason}" if verdict.reason
                                                        else "")]
    lines += [f"      {c.name} {c.outcome}: {c.detail}" for c in verdict.checks]
    return "\n".join(lines)


def _counts_text(evidence: dict[str, GroupWindow]) -> str:
    return "; ".join(f"{g} {w.requests} requests, {w.errors} 5xx" for g, w in
                     sorted(evidence.items())) or "no requests yet"


class Engine:
    def __init__(self, table_path: Path, audit_log: Path, plan: Plan, front_door: FrontDoor,
                 evidence: EvidenceSource, reporter: Reporter | None = None,
                 options: Options | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.table_path, self.audit_log, self.plan = table_path, audit_log, plan
        self.front_door, self.evidence = front_door, evidence
        self.report = reporter or Reporter()
        self.options = options or Options()
        self.clock, self.sleep = clock, sleep

    # -- starting and resuming ------------------------------------------------------------

    def start(self) -> int:
        existing = state.load(self.table_path, self.plan.rule)
        if existing is not None and existing.status not in state.FINISHED:
            raise PlanError(
                f"a plan for {self.plan.rule!r} is {existing.status} (started by "
                f"{existing.who} at {existing.started}); `routing promote {self.plan.rule} "
                f"--resume` continues it, `routing abort {self.plan.rule}` rolls it back")
        table = load_table(self.table_path)
        original = weights_of(table, self.plan.rule)
        run = state.Run(rule=self.plan.rule, to=self.plan.to,
                        steps=[{"weight": s.weight, "bake_s": s.bake_s} for s in self.plan.steps],
                        original_weights=original, front_door=self.front_door.describe(),
                        who=who())
        state.save(self.table_path, run)
        append_audit(self.audit_log, self.plan.rule, original, original, "plan-start",
                     to_group=self.plan.to, plan=self.plan.describe(),
                     front_door=self.front_door.describe())
        self.report.event("plan", f"plan {self.plan.rule}: {self.plan.to} {self.plan.describe()}"
                          f" on {self.front_door.describe()}; evidence from "
                          f"{self.evidence.describe()}", rule=self.plan.rule, to=self.plan.to,
                          steps=run.steps, original_weights=original)
        return self._walk(run)

    def resume(self) -> int:
        run = state.load(self.table_path, self.plan.rule)
        if run is None or run.status in state.FINISHED:
            raise PlanError(f"no plan of {self.plan.rule!r} to resume"
                            + (f" (the last one {run.status})" if run else "")
                            + f"; `routing promote {self.plan.rule}` starts one")
        if run.pid != os.getpid() and state.pid_alive(run.pid) and \
                run.status in ("running", "paused"):
            raise PlanError(f"the plan of {self.plan.rule!r} is running in process {run.pid}; "
                            f"`routing pause|resume|abort {self.plan.rule}` act on it")
        run.pid, run.status = os.getpid(), "running"
        run.front_door = self.front_door.describe()
        self.report.event("resume", f"resuming {self.plan.rule} at step {run.step + 1}/"
                          f"{len(run.steps)} ({run.steps[run.step]['weight']}%)",
                          rule=run.rule, step=run.step + 1)
        append_audit(self.audit_log, run.rule, self._weights(), self._weights(), "plan-resume",
                     step=run.step + 1)
        return self._walk(run)

    # -- the walk -----------------------------------------------------------------------

    def _weights(self) -> dict[str, int]:
        return weights_of(load_table(self.table_path), self.plan.rule)

    def _walk(self, run: state.Run) -> int:
        steps = [Step(int(s["weight"]), float(s["bake_s"])) for s in run.steps]
        try:
            while run.step < len(steps):
                step = steps[run.step]
                label = f"[{run.step + 1}/{len(steps)}]"
                if self.options.run_hooks and not self._hooks(run, step, after=False):
                    return self._roll_back(run, "failed", f"hook failed before {step.weight}%")
                weights = shifted(self._weights(), self.plan.to, step.weight)
                change_weights(self.table_path, self.audit_log, run.rule, weights, "plan-step",
                               step=run.step + 1)
                self.front_door.apply(load_table(self.table_path), run.rule)
                self.report.event("step", f"{label} {run.rule}: {self.plan.to} at "
                                  f"{step.weight}% -> {weights}", step=run.step + 1,
                                  weight=step.weight, weights=weights)
                if step.bake_s > 0 and (code := self._bake(run, step)) is not None:
                    return code
                run.step += 1
                state.save(self.table_path, run)
            if self.options.run_hooks and not self._hooks(run, steps[-1], after=True):
                return self._roll_back(run, "failed", "hook failed after the last step")
        except FrontDoorError as error:
            self.report.event("error", f"front door: {error}", error=True)
            return self._roll_back(run, "failed", f"front door: {error}")
        except Exception as error:  # a bug or a lost evidence source: never leave it half-way
            self._roll_back(run, "failed", f"stopped by an error: {error!r}")
            raise
        run.status, run.message = "completed", f"{self.plan.to} has {steps[-1].weight}%"
        state.save(self.table_path, run)
        append_audit(self.audit_log, run.rule, self._weights(), self._weights(),
                     "plan-complete")
        self.report.event("end", f"promoted {self.plan.to} to {steps[-1].weight}% of "
                          f"{run.rule}", status="completed", exit_code=EXIT_COMPLETED)
        return EXIT_COMPLETED

    def _bake(self, run: state.Run, step: Step) -> int | None:
        """Judge the step until it passes (None), fails, is aborted or ends inconclusive (an
        exit code)."""
        window = self.evidence.open_window(run.rule)
        # The rule's groups do not change during a run: name the baseline once, not per poll.
        baseline_name = "+".join(g for g in run.original_weights if g != self.plan.to)
        run.step_started = state.now_iso()
        baked = 0.0  # time that counts toward the bake (pauses do not)
        last, next_progress = self.clock(), self.clock() + PROGRESS_EVERY_S
        hold_until: float | None = None
        while True:
            request = state.take_request(self.table_path, run.rule)
            if request == "abort":
                return self._roll_back(run, "aborted", "aborted by `routing abort`")
            if request == "pause" and run.status != "paused":
                run.status, run.message = "paused", f"paused at {step.weight}%"
                self.report.event("paused", f"    paused at {step.weight}% (`routing resume "
                                  f"{run.rule}` continues)", status="paused")
                append_audit(self.audit_log, run.rule, self._weights(), self._weights(),
                             "plan-pause")
            elif request == "resume" and run.status == "paused":
                run.status = "running"
                self.report.event("resumed", "    resumed", status="running")
                append_audit(self.audit_log, run.rule, self._weights(), self._weights(),
                             "plan-resume")
            now = self.clock()
            if run.status != "paused":
                baked += now - last
            last = now
            evidence = dict(window.read())
            verdict = self._judge(evidence, step, baked >= step.bake_s, baseline_name)
            if now >= next_progress:
                next_progress = now + PROGRESS_EVERY_S
                self.report.event("progress", f"    {min(baked, step.bake_s):.0f}/"
                                  f"{step.bake_s:.0f}s: {_counts_text(evidence)}",
                                  baked_s=round(baked, 1), counts={
                                      g: [w.requests, w.errors] for g, w in evidence.items()})
            run.message = f"baking {step.weight}%: {_counts_text(evidence)}"
            if verdict.outcome == "fail":
                self._record(run, step, verdict, baked)
                return self._roll_back(run, "failed", verdict.reason or "the gate failed")
            if verdict.outcome == "pass" and run.status != "paused":
                self._record(run, step, verdict, baked)
                return None
            if verdict.outcome == "inconclusive" and run.status != "paused":
                if hold_until is None:
                    hold_until = now + self.options.max_hold_s
                    self._record(run, step, verdict, baked)
                if now >= hold_until:
                    return self._hold(run, step, verdict)
                run.message = f"holding at {step.weight}%: {verdict.reason}"
            state.save(self.table_path, run)
            self.sleep(self.options.poll_s)

    def _judge(self, evidence: dict[str, GroupWindow], step: Step, bake_over: bool,
               baseline_name: str) -> Verdict:
        new = evidence.get(self.plan.to, GroupWindow())
        baseline = baseline_of(evidence, self.plan.to) if step.weight < 100 else None
        return judge(self.plan.gate, new, baseline, bake_over=bake_over,
                     new_name=self.plan.to, baseline_name=baseline_name)

    def _record(self, run: state.Run, step: Step, verdict: Verdict, baked: float) -> None:
        entry = {"step": run.step + 1, "weight": step.weight, "when": state.now_iso(),
                 "baked_s": round(baked, 1), **verdict.to_json()}
        run.verdicts.append(entry)
        state.save(self.table_path, run)
        weights = self._weights()
        append_audit(self.audit_log, run.rule, weights, weights, "plan-verdict", **entry)
        self.report.event("verdict", verdict_text(verdict), **entry)

    def _hooks(self, run: state.Run, step: Step, after: bool) -> bool:
        table = load_table(self.table_path)
        for hook in (h for h in self.plan.hooks if h.after == after):
            self.report.event("hook-start", f"    hook {hook.name}: {hook.run} ...",
                              hook=hook.name)
            result: HookResult = run_hook(hook, self.plan, run.step + 1, step.weight, table,
                                          self.front_door.pin_url())
            entry = {"step": run.step + 1, "name": hook.name, "after_last": after,
                     "run": result.command, "exit_code": result.exit_code,
                     "seconds": result.seconds, "when": state.now_iso()}
            run.hooks.append({**entry, "output_tail": result.output_tail})
            state.save(self.table_path, run)
            weights = weights_of(table, run.rule)
            append_audit(self.audit_log, run.rule, weights, weights, "plan-hook", **entry)
            word = "passed" if result.ok else f"FAILED (exit {result.exit_code})"
            tail = "" if result.ok else "\n" + "\n".join(
                "      | " + line for line in result.output_tail.splitlines()[-15:])
            self.report.event("hook", f"    hook {hook.name}: {word} in {result.seconds:.1f}s"
                              + tail, error=not result.ok, **entry)
            if not result.ok:
                return False
        return True

    # -- the ends -----------------------------------------------------------------------

    def _roll_back(self, run: state.Run, status: state.Status, reason: str) -> int:
        before = change_weights(self.table_path, self.audit_log, run.rule, run.original_weights,
                                "plan-rollback", reason=reason)
        run.status, run.message = status, f"rolled back: {reason}"
        state.save(self.table_path, run)
        problem = ""
        try:
            self.front_door.apply(load_table(self.table_path), run.rule)
        except FrontDoorError as error:
            problem = f"; THE FRONT DOOR DID NOT CONFIRM IT: {error}"
        code = EXIT_ABORTED if status == "aborted" else EXIT_FAILED
        self.report.event("end", f"{'ABORTED' if status == 'aborted' else 'ROLLED BACK'}: "
                          f"{run.rule} {before} -> {run.original_weights} ({reason}){problem}",
                          error=True, status=status, exit_code=code, reason=reason)
        return code

    def _hold(self, run: state.Run, step: Step, verdict: Verdict) -> int:
        run.status = "inconclusive"
        run.message = f"holding at {step.weight}%: {verdict.reason}"
        state.save(self.table_path, run)
        self.report.event("end", f"HOLDING {run.rule} at {step.weight}% ({self.plan.to}): not "
                          f"enough evidence ({verdict.reason}). Send traffic, then `routing "
                          f"promote {run.rule} --resume`; or `routing abort {run.rule}`.",
                          error=True, status="inconclusive", exit_code=EXIT_INCONCLUSIVE)
        return EXIT_INCONCLUSIVE


def abort_finished_run(table_path: Path, audit_log: Path, rule: str,
                       front_door: FrontDoor) -> str:
    """`routing abort` when no CLI runs the plan (killed, or holding inconclusive): roll back
    here. Returns what was done."""
    run = state.load(table_path, rule)
    if run is None or run.status in state.FINISHED:
        raise PlanError(f"no plan of {rule!r} to abort" + (f" (the last one {run.status})"
                                                           if run else ""))
    before = change_weights(table_path, audit_log, rule, run.original_weights, "plan-abort")
    run.status, run.message = "aborted", "aborted by `routing abort`"
    state.save(table_path, run)
    front_door.apply(load_table(table_path), rule)
    return f"aborted the plan of {rule}: {before} -> {run.original_weights}"

