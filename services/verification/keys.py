"""Every Redis key name, stream name and stream bound of docs/storage-contract.md, in one place."""

from __future__ import annotations

CONTRACT_VERSION = 3
READS_VERSIONS = (2, 3)
V2_RECORD_VERSION = 2  # the `v` field of a version-2 record
EVENT_SCHEMA = 2  # of events about version-2 records (on vfy:events)
V3_EVENT_SCHEMA = 3  # of events about version-3 records (on the buckets' streams)

RECORD_PREFIX = "vfy:ver:"
PENDING_PREFIX = "vfy:pending:"
DEST_LIMIT_PREFIX = "vfy:rl:dest:"
IP_LIMIT_PREFIX = "vfy:rl:ip:"
FAILED_CHECKS_PREFIX = "vfy:rl:fail:"
CLIENT_LIMIT_PREFIX = "vfy:rl:client:"
IDEMPOTENCY_PREFIX = "vfy:idem:"
# The SMS-pumping guards: per number prefix a velocity counter, a conversion tally and a block;
# one global SMS counter (the circuit breaker).
PREFIX_LIMIT_PREFIX = "vfy:rl:prefix:"
SMS_LIMIT_KEY = "vfy:rl:sms"
TALLY_PREFIX = "vfy:fg:"
BLOCK_PREFIX = "vfy:fg:block:"
# The tally's fields ("vfy:fg:{prefix_hash} fields"): `s:{bucket}` SMS verifications created,
# `a:{bucket}` approvals, over a window sliding in TALLY_BUCKETS buckets.
TALLY_SENT_FIELD_PREFIX = "s:"
TALLY_APPROVED_FIELD_PREFIX = "a:"
TALLY_BUCKETS = 24

OUTBOX_STREAM = "vfy:outbox"
OUTBOX_GROUP = "dispatchers"
OUTBOX_MAXLEN = 100_000
DEAD_LETTER_STREAM = "vfy:outbox:dead"
DEAD_LETTER_MAXLEN = 10_000
EVENTS_STREAM = "vfy:events"
EVENTS_MAXLEN = 100_000
MONOLITH_EVENTS_GROUP = "monolith-users"
STREAM_TTL_MS = 7 * 24 * 3600 * 1000


def record_key(verification_id: str) -> str:
    return RECORD_PREFIX + verification_id


def pending_key(client: str, dest_hash: str) -> str:
    """The client's own pending index (contract v2)."""
    return f"{PENDING_PREFIX}{client}:{dest_hash}"


def failed_checks_key(client: str, dest_hash: str) -> str:
    return f"{FAILED_CHECKS_PREFIX}{client}:{dest_hash}"


def client_limit_key(client: str) -> str:
    return CLIENT_LIMIT_PREFIX + client


def dest_limit_key(dest_hash: str) -> str:
    return DEST_LIMIT_PREFIX + dest_hash


def ip_limit_key(ip_hash: str) -> str:
    return IP_LIMIT_PREFIX + ip_hash


def idempotency_key(idem_hash: str) -> str:
    return IDEMPOTENCY_PREFIX + idem_hash


def prefix_limit_key(prefix_hash: str) -> str:
    return PREFIX_LIMIT_PREFIX + prefix_hash


def tally_key(prefix_hash: str) -> str:
    return TALLY_PREFIX + prefix_hash


def block_key(prefix_hash: str) -> str:
    return BLOCK_PREFIX + prefix_hash


def tally_bucket_ms(window_seconds: int) -> int:
    """The length of one tally bucket; the window is a multiple of TALLY_BUCKETS seconds."""
    return window_seconds * 1000 // TALLY_BUCKETS


# Contract version 3 (docs/storage-contract.md "Version 3"): every key of one client's destination
# carries the slot tag of its bucket, and so do the outbox and events streams it writes.
V3_PREFIX = "vfy3:"
BUCKETS = 64
V3_STREAM_MAXLEN = 10_000  # per bucket
TALLY_BLOCK_FIELD = "block"  # v3 keeps the prefix block in the tally hash (one key, one slot)


def bucket_of(dest_key: str) -> int:
    return int(dest_key[0:2], 16) % BUCKETS


def bucket_tag(bucket: int) -> str:
    return f"{{b{bucket}}}"


def v3_record_key(client: str, dest_key: str) -> str:
    return f"{V3_PREFIX}{bucket_tag(bucket_of(dest_key))}:d:{client}:{dest_key}"


def v3_retained_key(client: str, dest_key: str) -> str:
    return f"{V3_PREFIX}{bucket_tag(bucket_of(dest_key))}:f:{client}:{dest_key}"


def v3_failed_checks_key(client: str, dest_key: str) -> str:
    return f"{V3_PREFIX}{bucket_tag(bucket_of(dest_key))}:fail:{client}:{dest_key}"


def v3_outbox_stream(bucket: int) -> str:
    return f"{V3_PREFIX}{bucket_tag(bucket)}:outbox"


def v3_events_stream(bucket: int) -> str:
    return f"{V3_PREFIX}{bucket_tag(bucket)}:events"


def v3_outbox_streams() -> list[str]:
    return [v3_outbox_stream(bucket) for bucket in range(BUCKETS)]


def v3_events_streams() -> list[str]:
    return [v3_events_stream(bucket) for bucket in range(BUCKETS)]


def dest_key_of_id(verification_id: str) -> str:
    """Characters 2-17 of a v3 id: its destination key (the id is `VE` + dest_key + rand)."""
    return verification_id[2:18]


def v3_bucket_of_id(verification_id: str) -> int:
    return bucket_of(dest_key_of_id(verification_id))


def rand_of_id(verification_id: str) -> str:
    """Characters 18-33 of a v3 id: the random half, the packed record's `rand`."""
    return verification_id[18:]


# Cluster mode: the Idempotency-Key's claim marker lives this long (a crashed request's
# marker frees the key after it).
IDEMPOTENCY_CLAIM_TTL_MS = 30_000
