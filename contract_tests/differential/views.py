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

# An event's schema follows the storage version its writer writes (docs/storage-contract.md:
# schema 2 names the destination by dest_hash, schema 3 by dest_key), and during the migration
# two sides may write different versions. So what is compared is what an event says: its fields,
# with the one naming the destination as `destination` (whichever it is) and `schema` as
# "2 or 3" when it is either; an unknown schema, or a destination field the schema does not
# have, still shows as a difference.
DESTINATION_FIELD = {"2": "dest_hash", "3": "dest_key"}
EVENT_FIELDS = ("type", "verification_id", "channel", "client", "reference", "occurred_at")
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
            for key, value in event_view(event, normaliser).items():
                view[f"event#{n}.{key}"] = value
    return view


def event_view(event: dict[str, str], normaliser: Normaliser) -> View:
    schema = event.get("schema", "")
    destination = DESTINATION_FIELD.get(schema)
    view: View = {
        "schema": "2 or 3" if destination else schema,
        "fields": sorted("destination" if key == destination else key
                         for key in event if key != "schema"),
        # Per client: a dest_key is bound to its client, a dest_hash is not, so one destination
        # of two clients is one hash in schema 2 and two in schema 3; (client, value) is the same
        # partition in both.
        "destination": normaliser.apply(
            "event.destination",
            f"{event.get('client', '')}|{event[destination]}"
            if destination and destination in event else None),
    }
    for key in EVENT_FIELDS:
        view[key] = normaliser.apply(f"event.{key}", event.get(key))
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
