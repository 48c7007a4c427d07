"""Delivery jobs as the outbox streams hold them (docs/storage-contract.md, "vfy:outbox entries"
and "Outbox and events entries (version 3)")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.verification import keys

CHANNELS = ("sms", "email")
SEALED_FIELD = "code_sealed"
V3_ID = re.compile(r"VE[0-9a-f]{32}")
CLIENT_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # the contract's client names


class MalformedJob(ValueError):
    """An entry that can never be delivered (a field is missing or wrong); dead-lettered at once."""


@dataclass(frozen=True)
class OutboxStream:
    """One stream of delivery jobs. The stream says the entry's form (the contract: "a dispatcher
    knows the seal's form from the stream it read"): `version` 3 for a bucket, 2 for vfy:outbox."""

    name: str
    version: int


def outbox_streams(cluster: bool) -> tuple[OutboxStream, ...]:
    """The 64 buckets, and the version-2 stream wherever version-2 data can exist (one node)."""
    buckets = tuple(OutboxStream(name, 3) for name in keys.v3_outbox_streams())
    return buckets if cluster else (*buckets, OutboxStream(keys.OUTBOX_STREAM, 2))


@dataclass(frozen=True)
class ClaimedEntry:
    """An outbox entry this consumer now owns, and how many times it has been delivered."""

    stream: OutboxStream
    entry_id: str
    fields: dict[str, str]
    deliveries: int


@dataclass(frozen=True)
class DeliveryJob:
    verification_id: str
    channel: str
    to: str
    code_sealed: str
    version: int
    client: str  # the owner (version 3: names the record key); "" on a version-2 job

    @classmethod
    def from_fields(cls, fields: dict[str, str], version: int) -> DeliveryJob:
        required = ["verification_id", "channel", "to", SEALED_FIELD]
        if version == 3:
            required.append("client")
        missing = [name for name in required if not fields.get(name)]
        if missing:
            raise MalformedJob(f"outbox entry lacks {', '.join(missing)}")
        if fields["channel"] not in CHANNELS:
            raise MalformedJob("outbox entry has an unknown channel")
        if version == 3 and not V3_ID.fullmatch(fields["verification_id"]):
            raise MalformedJob("outbox entry's verification_id is not a version-3 id")
        if version == 3 and not CLIENT_NAME.fullmatch(fields["client"]):
            raise MalformedJob("outbox entry's client is not a client name")
        return cls(
            verification_id=fields["verification_id"],
            channel=fields["channel"],
            to=fields["to"],
            code_sealed=fields[SEALED_FIELD],
            version=version,
            client=fields.get("client", "") if version == 3 else "",
        )

    @property
    def rand(self) -> str:
        """The id's random half: a version-3 record is this job's only when its `rand` is."""
        return self.verification_id[18:34]

    @property
    def record_key(self) -> str:
        if self.version == 3:
            return keys.v3_record_key(self.client, keys.dest_key_of_id(self.verification_id))
        return keys.record_key(self.verification_id)


def dead_letter_fields(fields: dict[str, str], error: str, attempts: int) -> dict[str, str]:
    """The job as it was, without the sealed code, plus why and after how many deliveries."""
    kept = {name: value for name, value in fields.items() if name != SEALED_FIELD}
    return {**kept, "error": error, "attempts": str(attempts)}
