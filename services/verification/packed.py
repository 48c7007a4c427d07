"""The version-3 packed record (docs/storage-contract.md "The packed record"): one string per
client and destination, fields joined by `|`, free text length-prefixed.

Python reads it (the read path, the dispatcher's liveness check); the Lua scripts write it.
"""

from __future__ import annotations

from dataclasses import dataclass

STATUS_LETTERS = {"pending": "p", "approved": "a", "canceled": "c",
                  "max_attempts_reached": "m", "expired": "x"}
STATUSES = {letter: status for status, letter in STATUS_LETTERS.items()}
CHANNEL_LETTERS = {"sms": "s", "email": "e"}
CHANNELS = {letter: channel for channel, letter in CHANNEL_LETTERS.items()}


class PackedRecordError(ValueError):
    """A value that is not a version-3 packed record."""


@dataclass(frozen=True)
class PackedRecord:
    rand: str
    to: str
    channel: str  # "sms" or "email"
    locale: str  # "" for none
    reference: str  # "" for none
    status: str  # the stored status, long form ("pending", ...)
    code_mac16: str
    code_sealed: str
    send_attempts: int
    check_attempts: int
    created_at: int
    ttl: int
    sent_offset: int

    @property
    def expires_at(self) -> int:
        return self.created_at + self.ttl

    @property
    def last_sent_at(self) -> int:
        return self.created_at + self.sent_offset

    def snapshot(self, verification_id: str) -> dict[str, object]:
        """The record in the shape rendering.py renders (ids are the caller's: the key gives
        `dest_key`, the record only `rand`)."""
        return {"id": verification_id, "to": self.to, "channel": self.channel,
                "locale": self.locale, "reference": self.reference, "status": self.status,
                "send_attempts": self.send_attempts, "check_attempts": self.check_attempts,
                "created_at": self.created_at, "expires_at": self.expires_at}


def _length_prefixed(text: str) -> str:
    return f"{len(text.encode())}:{text}"


def pack(record: PackedRecord) -> str:
    return "|".join([
        record.rand, _length_prefixed(record.to), CHANNEL_LETTERS[record.channel],
        _length_prefixed(record.locale), _length_prefixed(record.reference),
        STATUS_LETTERS[record.status], record.code_mac16, record.code_sealed,
        str(record.send_attempts), str(record.check_attempts), str(record.created_at),
        str(record.ttl), str(record.sent_offset),
    ])


def unpack(packed: str | bytes) -> PackedRecord:
    raw = packed if isinstance(packed, bytes) else packed.encode()
    position = 0

    def plain() -> str:
        nonlocal position
        end = raw.find(b"|", position)
        if end < 0:
            end = len(raw)
        value = raw[position:end].decode()
        position = end + 1
        return value

    def length_prefixed() -> str:
        nonlocal position
        colon = raw.find(b":", position)
        if colon < 0:
            raise PackedRecordError("a length-prefixed field has no ':'")
        length = int(raw[position:colon])
        start = colon + 1
        value = raw[start:start + length]
        if len(value) != length or raw[start + length:start + length + 1] != b"|":
            raise PackedRecordError("a length-prefixed field is cut short")
        position = start + length + 1
        return value.decode()

    try:
        rand, to = plain(), length_prefixed()
        channel = CHANNELS[plain()]
        locale, reference = length_prefixed(), length_prefixed()
        status = STATUSES[plain()]
        code_mac16, code_sealed = plain(), plain()
        numbers = [int(plain()) for _ in range(5)]
    except (KeyError, ValueError, UnicodeDecodeError) as exc:
        raise PackedRecordError(f"not a version-3 packed record: {exc}") from exc
    if position <= len(raw):
        raise PackedRecordError("trailing fields after the packed record")
    return PackedRecord(rand, to, channel, locale, reference, status, code_mac16, code_sealed,
                        *numbers)
