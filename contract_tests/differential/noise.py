"""What legitimately differs between two runs, in one table; all else must match.

Anything not named here is compared exactly: status, every body member (and member order),
content-type, Location, Idempotent-Replayed; Retry-After within one second. The fuzzer
(fuzz.py) also compares side effects: the delivered messages (`message.*`) and the events in
the events streams (`event.*`); and it measures each rule (noise_ledger.py): a rule that hides a
difference which two runs of one side never show is stale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from contract_tests.problems import TIME_PATTERN


@dataclass(frozen=True)
class NoiseRule:
    where: str  # "body.<member>" (any depth), "header.<name>", "message.<field>",
    # "event.<field>", or "request.<member>"
    treatment: str  # id | time | destination | seconds+-1 | code | hash | ms-time | never-compared
    why: str


NOISE_RULES: tuple[NoiseRule, ...] = (
    NoiseRule("body.id", "id", "random per run: mapped to <id#n> in order of first appearance"),
    NoiseRule("body.verification_id", "id", "as body.id"),
    NoiseRule("header.location", "id", "ids inside the path mapped as body.id"),
    NoiseRule("body.created_at", "time", "checked as RFC 3339 UTC with ms and Z, then masked"),
    NoiseRule("body.expires_at", "time", "as created_at; expires_at - created_at is compared"),
    NoiseRule("body.to", "destination", "fresh per run from one template: mapped to the name"),
    NoiseRule("body.phone", "destination", "as body.to"),
    NoiseRule("body.email", "destination", "as body.to"),
    NoiseRule("header.retry-after", "seconds+-1", "the two runs happen at different instants"),
    NoiseRule("request.code", "never-compared", "codes come from the inbox, never from responses"),
    NoiseRule("message.to", "destination", "as body.to"),
    NoiseRule("message.body", "code", "the code is random: masked as <code:N digits>"),
    NoiseRule("event.verification_id", "id", "as body.id"),
    NoiseRule("event.destination", "hash", "dest_hash (schema 2) or dest_key (schema 3) with the "
              "event's client: each pair mapped to <hash#n> in order of first appearance (keyed "
              "hashes are computed with the servers' pepper)"),
    NoiseRule("event.occurred_at", "ms-time", "Redis time in ms: checked as an integer, masked"),
)
CODE_IN_TEXT = re.compile(r"(?<![0-9])[0-9]{4,10}(?![0-9])")
COMPARED_HEADERS = ("content-type", "location", "retry-after", "idempotent-replayed")
ID_PATTERN = re.compile(r"(?:VE|US)[0-9a-f]{32}")


def _treatment(where: str) -> str | None:
    return next((r.treatment for r in NOISE_RULES if r.where == where), None)


@dataclass
class Normaliser:
    """Per run: maps this run's ids and destinations to names both runs share."""

    destinations: dict[str, str]  # actual value (lower-cased) -> template name
    ids: dict[str, str] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)

    def id(self, value: str) -> str:
        return self.ids.setdefault(value, f"<id#{len(self.ids) + 1}>")

    def apply(self, where: str, value: Any) -> Any:
        """`value` of the field `where` (as in NoiseRule.where) after its rule, if any."""
        treatment = _treatment(where)
        if not isinstance(value, str) or treatment is None:
            return value
        if treatment == "id":
            return self.text_with_ids(value)
        if treatment == "time":
            return "<time>" if TIME_PATTERN.match(value) else f"<NOT RFC 3339 ms Z: {value}>"
        if treatment == "destination":
            return f"<{self.destinations[value.lower()]}>" if value.lower() in (
                self.destinations) else value
        if treatment == "seconds+-1":
            return int(value) if value.isdigit() else value
        if treatment == "code":
            return CODE_IN_TEXT.sub(lambda m: f"<code:{len(m.group(0))} digits>", value)
        if treatment == "hash":
            return self.hashes.setdefault(value, f"<hash#{len(self.hashes) + 1}>")
        if treatment == "ms-time":
            return "<ms>" if value.isdigit() else f"<NOT integer ms: {value}>"
        return value

    def text_with_ids(self, value: str) -> str:
        return ID_PATTERN.sub(lambda m: self.id(m.group(0)), value)

    def value(self, member: str, value: Any) -> Any:
        if isinstance(value, dict):
            return self.body(value)
        return self.apply(f"body.{member}", value)

    def body(self, body: dict[str, Any]) -> dict[str, Any]:
        normal = {k: self.value(k, v) for k, v in body.items()}
        if isinstance(body.get("created_at"), str) and isinstance(body.get("expires_at"), str):
            normal["(expires_at - created_at)"] = _lifetime_ms(body)
        return normal

    def header(self, name: str, value: str | None) -> Any:
        return None if value is None else self.apply(f"header.{name}", value)


class RawView(Normaliser):
    """No rule applied (Retry-After still read as a number): what the noise is measured on."""

    def __init__(self) -> None:
        super().__init__({})

    def apply(self, where: str, value: Any) -> Any:
        if _treatment(where) == "seconds+-1" and isinstance(value, str) and value.isdigit():
            return int(value)
        return value


def _lifetime_ms(body: dict[str, Any]) -> int | str:
    from datetime import datetime

    try:
        start = datetime.fromisoformat(str(body["created_at"]).replace("Z", "+00:00"))
        end = datetime.fromisoformat(str(body["expires_at"]).replace("Z", "+00:00"))
    except ValueError:
        return "<unparsable>"
    return round((end - start).total_seconds() * 1000)


def rule_for(where: str) -> NoiseRule | None:
    return next((r for r in NOISE_RULES if r.where == where), None)


def same(header: str, a: Any, b: Any) -> bool:
    if _treatment(f"header.{header}") == "seconds+-1" and isinstance(a, int) and isinstance(b, int):
        return abs(a - b) <= 1
    return bool(a == b)
