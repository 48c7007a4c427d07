"""The message store: the last N messages in memory, newest first when read."""

from __future__ import annotations

import secrets
import threading
from collections import deque
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
    """Bounded: adding beyond `capacity` forgets the oldest. Safe to share between threads."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._messages: deque[Message] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def add(self, message: Message) -> Message:
        """Store the message, unless one with the same delivery key and destination is still
        here (a sender's retry after a crash): then that one is returned and nothing is added."""
        with self._lock:
            if message.delivery_key is not None:
                for kept in self._messages:
                    if kept.delivery_key == message.delivery_key and kept.to == message.to:
                        return kept
            self._messages.append(message)
            return message

    def newest_first(self, to: str | None = None) -> list[Message]:
        with self._lock:
            snapshot = list(self._messages)
        snapshot.reverse()
        if to is None:
            return snapshot
        return [message for message in snapshot if message.is_for(to)]

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._messages)
