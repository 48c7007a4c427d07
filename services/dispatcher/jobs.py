"""Delivery jobs as the outbox holds them (docs/storage-contract.md, "vfy:outbox entries")."""

from __future__ import annotations

from dataclasses import dataclass

CHANNELS = ("sms", "email")
SEALED_FIELD = "code_sealed"


class MalformedJob(ValueError):
    """An entry that can never be delivered (a field is missing or wrong); dead-lettered at once."""


@dataclass(frozen=True)
class ClaimedEntry:
    """An outbox entry this consumer now owns, and how many times it has been delivered."""

    entry_id: str
    fields: dict[str, str]
    deliveries: int


@dataclass(frozen=True)
class DeliveryJob:
    verification_id: str
    channel: str
    to: str
    code_sealed: str

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> DeliveryJob:
        missing = [
            name
            for name in ("verification_id", "channel", "to", SEALED_FIELD)
            if not fields.get(name)
        ]
        if missing:
            raise MalformedJob(f"outbox entry lacks {', '.join(missing)}")
        if fields["channel"] not in CHANNELS:
            raise MalformedJob("outbox entry has an unknown channel")
        return cls(
            verification_id=fields["verification_id"],
            channel=fields["channel"],
            to=fields["to"],
            code_sealed=fields[SEALED_FIELD],
        )


def dead_letter_fields(fields: dict[str, str], error: str, attempts: int) -> dict[str, str]:
    """The job as it was, without the sealed code, plus why and after how many deliveries."""
    kept = {name: value for name, value in fields.items() if name != SEALED_FIELD}
    return {**kept, "error": error, "attempts": str(attempts)}
