"""The version-3 packed record (docs/storage-contract.md "The packed record"), the monolith's own
codec: the Lua scripts write the string, Python reads it (and tests write it to compare)."""

from __future__ import annotations

from dataclasses import dataclass

STATUS_LETTERS = {
    "pending": "p", "approved": "a", "canceled": "c", "max_attempts_reached": "m", "expired": "x",
}
CHANNEL_LETTERS = {"sms": "s", "email": "e"}
_STATUSES = {letter: status for status, letter in STATUS_LETTERS.items()}
_CHANNELS = {letter: channel for channel, letter in CHANNEL_LETTERS.items()}


class NotPacked(ValueError):
    """A string that is not a version-3 packed record."""


@dataclass(frozen=True)
class Packed:
    rand: str
    to: str
    channel: str
    locale: str
    reference: str
    status: str  # long form: pending, approved, ...
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

    def as_record(self, verification_id: str) -> dict[str, str | int]:
        """The fields rendering.render_verification reads."""
        return {
            "id": verification_id, "to": self.to, "channel": self.channel,
            "locale": self.locale, "reference": self.reference, "status": self.status,
            "send_attempts": self.send_attempts, "check_attempts": self.check_attempts,
            "created_at": self.created_at, "expires_at": self.expires_at,
        }


def _sized(text: str) -> str:
    return f"{len(text.encode())}:{text}"


def pack(record: Packed) -> str:
    return "|".join([
        record.rand, _sized(record.to), CHANNEL_LETTERS[record.channel], _sized(record.locale),
        _sized(record.reference), STATUS_LETTERS[record.status], record.code_mac16,
        record.code_sealed, str(record.send_attempts), str(record.check_attempts),
        str(record.created_at), str(record.ttl), str(record.sent_offset),
    ])


def unpack(text: str) -> Packed:
    raw = text.encode()
    fields: list[str] = []
    position = 0
    for sized in (False, True, False, True, True, False, False, False, False, False, False,
                  False, False):
        if sized:  # `{len}:{text}`: exactly len bytes after the colon, which may hold | and :
            colon = raw.find(b":", position)
            if colon < 0:
                raise NotPacked("a length-prefixed field has no length")
            end = colon + 1 + int(raw[position:colon])
        else:
            found = raw.find(b"|", position)
            end = len(raw) if found < 0 else found
        start = colon + 1 if sized else position
        if end > len(raw) or (end < len(raw) and raw[end:end + 1] != b"|"):
            raise NotPacked("a field runs past its end")
        fields.append(raw[start:end].decode())
        position = end + 1
    if position <= len(raw):
        raise NotPacked("more fields than a packed record has")
    try:
        return Packed(
            fields[0], fields[1], _CHANNELS[fields[2]], fields[3], fields[4], _STATUSES[fields[5]],
            fields[6], fields[7], *(int(value) for value in fields[8:]),
        )
    except (KeyError, ValueError) as error:
        raise NotPacked(str(error)) from None
