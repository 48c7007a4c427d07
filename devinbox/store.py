"""The message store: the last N messages in memory, newest first when read."""

from __future__ import annotations

import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

Channel = Literal["sms", "email"]

DEFAULT_CAPACITY = 1000


@dataclass(frozen=True)
class Message:
    id: str
    channel: Channel
    to: str
    sender: str | None
    subject: str | None
    body: str
    received_at: str
    # Message-ID of a mail, Idempotency-Key of an SMS post: a repeat of a stored key is dropped.
    delivery_key: str | None = None

    def as_json(self) -> dict[str, str | None]:
        return {
            "id": self.id,
            "channel": self.channel,
            "to": self.to,
            "from": self.sender,
            "subject": self.subject,
            "body": self.body,
            "received_at": self.received_at,
        }

    def is_for(self, to: str) -> bool:
        """Exact match; email addresses compare case-insensitively."""
        if self.channel == "email":
            return self.to.casefold() == to.casefold()
        return self.to == to


def utc_timestamp(moment: datetime | None = None) -> str:
    moment = moment or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def new_message(
    channel: Channel, to: str, body: str, sender: str | None = None, subject: str | None = None,
    delivery_key: str | None = None,
) -> Message:
    return Message(
        id="MS" + secrets.token_hex(8),
        channel=channel,
        to=to,
        sender=sender,
        subject=subject,
        body=body,
        received_at=utc_timestamp(),
        delivery_key=delivery_key,
    )


class MessageStore:
    """Bounded: adding beyond `capacity` forgets the oldest. Safe to share between threads.
    Indexed by destination and by delivery key, so a read or an add does not scan every message
    (the bench reads once per flow, at hundreds of flows a second)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._messages: deque[Message] = deque()  # oldest first, at most `capacity`
        self._by_destination: dict[str, deque[Message]] = {}  # casefolded `to`, oldest first
        self._by_delivery_key: dict[tuple[str, str], Message] = {}
        self._lock = threading.Lock()
        self._listeners: list[Callable[[Message], None]] = []

    def on_add(self, listener: Callable[[Message], None]) -> Callable[[], None]:
        """Call `listener` with every message stored from now on (in the thread that adds it);
        returns the function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def add(self, message: Message) -> Message:
        """Store the message, unless one with the same delivery key and destination is still
        here (a sender's retry after a crash): then that one is returned and nothing is added."""
        with self._lock:
            if message.delivery_key is not None:
                kept = self._by_delivery_key.get((message.delivery_key, message.to))
                if kept is not None:
                    return kept
                self._by_delivery_key[(message.delivery_key, message.to)] = message
            if len(self._messages) == self.capacity:
                self._forget(self._messages.popleft())
            self._messages.append(message)
            self._by_destination.setdefault(message.to.casefold(), deque()).append(message)
        for listener in list(self._listeners):
            listener(message)
        return message

    def _forget(self, oldest: Message) -> None:
        key = oldest.to.casefold()
        same_destination = self._by_destination[key]
        same_destination.popleft()  # the oldest overall is the oldest to its destination too
        if not same_destination:
            del self._by_destination[key]
        if oldest.delivery_key is not None:
            del self._by_delivery_key[(oldest.delivery_key, oldest.to)]

    def newest_first(self, to: str | None = None) -> list[Message]:
        with self._lock:
            if to is None:
                snapshot = list(self._messages)
            else:
                snapshot = list(self._by_destination.get(to.casefold(), ()))
        snapshot.reverse()
        if to is None:
            return snapshot
        return [message for message in snapshot if message.is_for(to)]

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
            self._by_destination.clear()
            self._by_delivery_key.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._messages)
