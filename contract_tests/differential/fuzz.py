"""Stateful differential fuzzing: one random sequence of operations, played on two targets.

A Hypothesis `RuleBasedStateMachine` draws operations (operations.py) and plays each one, at the
same moment, on three sides (side.py): A, A' (A again, to measure the noise: noise_ledger.py) and
B. Each operation acts as one of two clients (the keys of --api-key and --api-key-b), the same
on every side. After the noise rules (noise.py) every response, every delivered message and every
event (in `vfy:events` and the 64 `vfy3:{b<n>}:events` buckets: events.py) of A must equal B's.
On a difference Hypothesis shrinks the sequence, and the error is the shrunk sequence as a
reproduction: each step, and both sides' requests and responses.

    ./dev fuzz --a http://127.0.0.1:8001 \
        --b send=http://127.0.0.1:8002,check=http://127.0.0.1:8003 \
        --inbox-url http://127.0.0.1:8025 --redis-url redis://127.0.0.1:6379/0 \
        --api-key "$KEY" --api-key-b "$ANOTHER_CLIENTS_KEY"
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any, ClassVar

import httpx
import redis
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis.errors import Flaky
from hypothesis.stateful import RuleBasedStateMachine, get_state_machine_test, rule

from contract_tests.client import Urls, http_client
from contract_tests.differential.compare import parse_target
from contract_tests.differential.events import EventCursor, events_client
from contract_tests.differential.noise import RawView
from contract_tests.differential.noise_ledger import NoiseLedger
from contract_tests.differential.operations import (
    OPERATIONS,
    Churn,
    Operation,
    Wait,
)
from contract_tests.differential.side import EndUserAddresses, Outcome, Side
from contract_tests.differential.views import differences, view_of
from contract_tests.policy import Policy

LABELS = ("A", "A'", "B")
STEPS_PER_EXAMPLE = 12
# Keep each step clear of the instants the clock decides (a cooldown or a code TTL ending): both
# sides must see the same side of every boundary, or the run would report timing, not behaviour.
BOUNDARY_MARGIN_SECONDS = 0.25
STEP_LEAD_SECONDS = {"churn": 2.0, "other": 0.35}  # how long a step may take on the slowest side


@dataclass(frozen=True)
class KnownDivergence:
    """A difference already reported and being fixed elsewhere: its operations are not played
    (and the run says how often) until the fix lands. Remove the entry with the fix."""

    key: str  # for `--include-known KEY`
    name: str
    applies: Callable[[Operation], bool]


# Differences known and being fixed, whose operations are not played meanwhile (the summary says
# how often): each entry is TEMPORARY and goes when its fix lands. None today.
KNOWN_DIVERGENCES: tuple[KnownDivergence, ...] = ()


class Divergence(AssertionError):
    """A and B answered differently; the message is the reproduction."""


@dataclass
class Target:
    urls: Urls
    # Per client (operations.CLIENTS), by index: its Authorization and the spec's other headers.
    client_headers: tuple[dict[str, str], ...]


@dataclass
class FuzzConfig:
    a: Target
    b: Target
    policy: Policy
    redis_url: str | None = None
    include_known: frozenset[str] = frozenset()  # keys of KNOWN_DIVERGENCES to play anyway
    delivery_timeout: float = 10.0
    ledger: NoiseLedger = field(default_factory=NoiseLedger)
    examples: int = 0
    steps: int = 0
    examples_until_divergence: int | None = None
    known_skipped: dict[str, int] = field(default_factory=dict)
    reproductions: list[str] = field(default_factory=list)
    clients: dict[str, httpx.Client] = field(default_factory=dict)
    # Each side's end-user addresses, for the whole run (side.EndUserAddresses says why).
    end_users: dict[str, EndUserAddresses] = field(
        default_factory=lambda: {label: EndUserAddresses() for label in LABELS})
    events: redis.Redis | None = None
    pool: ThreadPoolExecutor | None = None

    @classmethod
    def from_specs(cls, a: str, b: str, inbox_url: str | None, redis_url: str | None,
                   policy: Policy, api_key: str | None, api_key_b: str | None,
                   **options: Any) -> FuzzConfig:
        """`api_key` (the first client's; a spec's `header=Authorization:…` overrides it) and
        `api_key_b` (another client's) are sent to both sides."""
        if not api_key_b or api_key_b == api_key:
            raise ValueError("the fuzzer acts as two clients: give --api-key-b (env "
                             "CONTRACT_API_KEY_B), a key of another client than --api-key's")

        def target(spec: str) -> Target:
            urls, headers = parse_target(spec, inbox_url, api_key)
            return Target(urls, (headers, {**headers, "Authorization": f"Bearer {api_key_b}"}))

        return cls(target(a), target(b), policy, redis_url, **options)

    def target(self, label: str) -> Target:
        return self.b if label == "B" else self.a

    def known_divergence(self, op: Operation) -> KnownDivergence | None:
        return next((k for k in KNOWN_DIVERGENCES
                     if k.key not in self.include_known and "all" not in self.include_known
                     and k.applies(op)), None)


@dataclass
class StepRecord:
    description: str
    outcomes: dict[str, list[Outcome]]


class DifferentialMachine(RuleBasedStateMachine):
    config: ClassVar[FuzzConfig]

    def __init__(self) -> None:
        super().__init__()
        cfg = self.config
        cfg.examples += 1
        self.sides = {label: Side(label, cfg.target(label).urls, cfg.clients[label], cfg.policy,
                                  cfg.delivery_timeout,
                                  client_headers=cfg.target(label).client_headers,
                                  end_user=cfg.end_users[label])
                      for label in LABELS}
        self.log: list[StepRecord] = []
        self.events = EventCursor(cfg.events) if cfg.events is not None else None

    @rule(op=OPERATIONS)
    def step(self, op: Operation) -> None:
        cfg = self.config
        known = cfg.known_divergence(op)
        if known is not None:
            cfg.known_skipped[known.name] = cfg.known_skipped.get(known.name, 0) + 1
            self.log.append(StepRecord(f"{op.describe()}  [not played: known divergence]", {}))
            return
        cfg.steps += 1
        if isinstance(op, Wait):
            self._wait(op)
            self.log.append(StepRecord(op.describe(), {}))
            return
        self._keep_clear_of_boundaries(STEP_LEAD_SECONDS["churn" if isinstance(op, Churn)
                                                         else "other"])
        assert cfg.pool is not None
        futures = {label: cfg.pool.submit(side.perform, op) for label, side in self.sides.items()}
        outcomes = {label: future.result() for label, future in futures.items()}
        self._attach_events(outcomes)
        self.log.append(StepRecord(op.describe(), outcomes))
        self._compare(outcomes)

    # --- the clock ----------------------------------------------------------------------
    def _boundaries(self, which: str) -> list[tuple[float, float]]:
        policy = self.config.policy
        cooldown, ttl = policy.resend_cooldown_seconds, policy.code_ttl_seconds
        found = []
        for side in self.sides.values():
            if which in ("all", "expiry"):
                found += [(a + ttl, b + ttl) for a, b in side.created.values()]
            if which in ("all", "cooldown"):
                found += [(a + cooldown, b + cooldown) for a, b in side.last_sent.values()]
        return found

    def _keep_clear_of_boundaries(self, lead: float) -> None:
        while True:
            now = time.monotonic()
            margin = BOUNDARY_MARGIN_SECONDS
            near = [end for start, end in self._boundaries("all")
                    if start - lead - margin <= now <= end + margin]
            if not near:
                return
            time.sleep(max(near) + BOUNDARY_MARGIN_SECONDS - now + 0.01)

    def _wait(self, op: Wait) -> None:
        ends = [end for _, end in self._boundaries(op.until)]
        if ends:
            time.sleep(max(0.0, max(ends) + BOUNDARY_MARGIN_SECONDS - time.monotonic()))

    # --- side effects in Redis ----------------------------------------------------------
    def _attach_events(self, outcomes: dict[str, list[Outcome]]) -> None:
        if self.events is None:
            return
        for fields in self.events.new_events():
            vid = fields.get("verification_id", "")
            for label, side in self.sides.items():
                if side.owns(vid) and outcomes[label]:
                    _outcome_about(outcomes[label], vid).events.append(fields)

    # --- comparison ---------------------------------------------------------------------
    def _compare(self, outcomes: dict[str, list[Outcome]]) -> None:
        cfg, events = self.config, self.config.events is not None
        for a, a2, b in zip_longest(outcomes["A"], outcomes["A'"], outcomes["B"]):
            if a is None or b is None:
                self._diverged(["    the sides made a different number of requests"])
            views = {label: view_of(o, self.sides[label].normaliser, events)
                     for label, o in zip(LABELS, (a, a2, b), strict=True) if o is not None}
            raw = {label: view_of(o, RawView(), events)
                   for label, o in zip(LABELS, (a, a2, b), strict=True) if o is not None}
            cfg.ledger.observe(raw["A"], raw.get("A'", {}), raw["B"], views["A"], views["B"])
            lines = differences(views["A"], views["B"])
            errors = [f"    {label} answered {o.exchange.status}"
                      for label, o in (("A", a), ("B", b)) if o.exchange.status >= 500]
            if lines or errors:
                self._diverged(lines + errors)

    def _diverged(self, lines: list[str]) -> None:
        cfg = self.config
        if cfg.examples_until_divergence is None:
            cfg.examples_until_divergence = cfg.examples
        text = reproduction(self.log, lines)
        cfg.reproductions.append(text)
        raise Divergence(text)


def _outcome_about(outcomes: list[Outcome], verification_id: str) -> Outcome:
    for outcome in outcomes:
        if verification_id in outcome.request.path or verification_id in str(
                outcome.exchange.body):
            return outcome
    return outcomes[-1]


def reproduction(log: list[StepRecord], lines: list[str]) -> str:
    out = [f"A and B differ at step {len(log)} of this sequence:", *lines, "",
           "Reproduction (each step; A's and B's requests, responses and side effects):"]
    for n, record in enumerate(log, 1):
        out.append(f"  {n}. {record.description}")
        for label in ("A", "B"):
            for outcome in record.outcomes.get(label, []):
                out.append(f"       {label}: {_exchange_line(outcome)}")
    return "\n".join(out)


def _exchange_line(outcome: Outcome) -> str:
    exchange = outcome.exchange
    headers = {k: v for k, v in exchange.headers.items()
               if k in ("content-type", "location", "retry-after", "idempotent-replayed")}
    line = (f"{outcome.request.describe()}\n"
            f"            -> {exchange.status} {headers} {exchange.body}")
    for message in outcome.messages:
        line += f"\n            delivered: {message}"
    for event in outcome.events:
        line += f"\n            event: {event}"
    return line


@dataclass
class FuzzReport:
    config: FuzzConfig
    seconds: float
    reproduction: str | None
    flaky: bool = False

    @property
    def stale(self) -> list[str]:
        return self.config.ledger.stale()

    @property
    def ok(self) -> bool:
        return self.reproduction is None and not self.stale

    def summary(self) -> str:
        cfg = self.config
        lines = [f"fuzz: {cfg.examples} examples, {cfg.steps} steps in {self.seconds:.0f}s"]
        if cfg.events is None:
            lines.append("fuzz: events NOT compared (no --redis-url given)")
        else:
            lines.append("fuzz: responses, delivered messages and events (vfy:events and the "
                         "vfy3 buckets) compared")
        for name, count in cfg.known_skipped.items():
            lines.append(f"fuzz: KNOWN DIVERGENCE excluded {count} times (temporary, "
                         f"fuzz.KNOWN_DIVERGENCES): {name}")
        lines.append(cfg.ledger.report())
        if self.stale:
            lines.append(f"fuzz: STALE noise rules (hid differences A vs A' never showed): "
                         f"{', '.join(self.stale)}")
        if self.reproduction:
            lines.append(f"fuzz: DIFFERENCE found after {cfg.examples_until_divergence} examples"
                         + (" (the shrunk replay did not fail again: timing; shortest seen "
                            "below)" if self.flaky else ""))
            lines.append(self.reproduction)
        return "\n".join(lines)


@contextmanager
def connections(config: FuzzConfig) -> Iterator[None]:
    with http_client() as a, http_client() as a2, http_client() as b, \
            ThreadPoolExecutor(max_workers=len(LABELS)) as pool:
        config.clients, config.pool = {"A": a, "A'": a2, "B": b}, pool
        config.events = events_client(config.redis_url) if config.redis_url else None
        try:
            yield
        finally:
            if config.events is not None:
                config.events.close()


def run_fuzz(config: FuzzConfig, examples: int, seed_value: int | None = None) -> FuzzReport:
    machine = type("DifferentialFuzz", (DifferentialMachine,), {"config": config})
    options = settings(max_examples=examples, stateful_step_count=STEPS_PER_EXAMPLE,
                       deadline=None, database=None, derandomize=seed_value is None,
                       phases=(Phase.generate, Phase.shrink), print_blob=False,
                       report_multiple_bugs=False, suppress_health_check=list(HealthCheck))
    test = get_state_machine_test(machine, settings=options)
    if seed_value is not None:
        test = seed(seed_value)(test)
    started = time.monotonic()
    found: str | None = None
    flaky = False
    with connections(config):
        try:
            test()
        except Divergence as divergence:
            found = str(divergence)
        except Flaky:
            flaky = True
            found = min(config.reproductions, key=len) if config.reproductions else "?"
    return FuzzReport(config, time.monotonic() - started, found, flaky)
