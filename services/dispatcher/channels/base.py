"""What every channel adapter offers, and the one error it raises."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class OutgoingMessage:
    to: str
    subject: str
    body: str
    reference: str  # the outbox entry id: a stable handle for tracing, never personal data
    delivery_key: str  # the same for every attempt at one job: receivers may drop repeats


class DeliveryError(Exception):
    """The channel did not accept the message. The text is safe to log: no body, no code."""


class Channel(Protocol):
    name: str

    async def send(self, message: OutgoingMessage) -> None:
        """Hand the message over; raise DeliveryError when the channel did not accept it."""

    async def close(self) -> None:
        """Release connections; called once at shutdown."""
