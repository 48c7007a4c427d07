"""A step's outcome on one side as a flat view (field -> value), and the difference of two views.

Keys: `status`, `header <name>`, `member order`, `body.<member>`, `message#n.<field>`,
`event#n.<field>` and the counts `messages` / `events`. The noise rule of a key is found by
`where_of` (the key with its `#n` and the space of a header dropped).
"""

from __future__ import annotations

import re
from typing import Any

from contract_tests.differential.compare import normalise
from contract_tests.differential.noise import Normaliser, same
from contract_tests.differential.side import Outcome

# Schema 2 carries dest_hash, schema 3 dest_key (docs/storage-contract.md); `fields` shows which.
EVENT_FIELDS = ("schema", "type", "verification_id", "channel", "dest_hash", "dest_key", "client",
                "reference", "occurred_at")
_NUMBERED = re.compile(r"^(message|event)#\d+\.")

View = dict[str, Any]


def view_of(outcome: Outcome, normaliser: Normaliser, events_compared: bool) -> View:
    view = normalise(outcome.exchange, normaliser)
    view["messages"] = len(outcome.messages)
    for n, message in enumerate(outcome.messages, 1):
        for key, value in message.items():
            view[f"message#{n}.{key}"] = normaliser.apply(f"message.{key}", value)
    if events_compared:
        view["events"] = len(outcome.events)
        for n, event in enumerate(outcome.events, 1):
            view[f"event#{n}.fields"] = sorted(event)
            for key in EVENT_FIELDS:
                view[f"event#{n}.{key}"] = normaliser.apply(f"event.{key}", event.get(key))
    return view


def where_of(key: str) -> str:
    """The NoiseRule.where a view key falls under: `header location` -> `header.location`,
    `message#2.to` -> `message.to`."""
    if key.startswith("header "):
        return "header." + key.removeprefix("header ")
    return _NUMBERED.sub(lambda m: m.group(1) + ".", key)


def equal(key: str, a: Any, b: Any) -> bool:
    return same(key.removeprefix("header "), a, b)


def differences(a: View, b: View) -> list[str]:
    """Every key whose values differ, as readable lines (absent keys show as `<absent>`)."""
    lines = []
    for key in sorted(set(a) | set(b)):
        left, right = a.get(key, "<absent>"), b.get(key, "<absent>")
        if not equal(key, left, right):
            lines.append(f"    {key}:  A {left!r}  /  B {right!r}")
    return lines
