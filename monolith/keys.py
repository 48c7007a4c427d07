"""Every Redis key name the monolith uses, in one place.

`vfy:*` names are the shared storage contract (docs/storage-contract.md); `users:*` names are the
monolith's own (docs/monolith.md).
"""

from __future__ import annotations

RECORD_PREFIX = "vfy:ver:"
PENDING_PREFIX = "vfy:pending:"
DEST_LIMIT_PREFIX = "vfy:rl:dest:"
IP_LIMIT_PREFIX = "vfy:rl:ip:"
CLIENT_LIMIT_PREFIX = "vfy:rl:client:"
FAILED_CHECKS_PREFIX = "vfy:rl:fail:"
PREFIX_LIMIT_PREFIX = "vfy:rl:prefix:"
SMS_LIMIT = "vfy:rl:sms"  # the circuit breaker: every SMS send, all clients
TALLY_PREFIX = "vfy:fg:"
BLOCK_PREFIX = "vfy:fg:block:"
IDEMPOTENCY_PREFIX = "vfy:idem:"
OUTBOX = "vfy:outbox"
EVENTS = "vfy:events"
EVENTS_GROUP = "monolith-users"

STREAM_TTL_MS = 7 * 86400 * 1000
OUTBOX_MAXLEN = 100_000
EVENTS_MAXLEN = 100_000

USER_PREFIX = "users:"


def record(verification_id: str) -> str:
    return RECORD_PREFIX + verification_id


def pending(client: str, dest_hash: str) -> str:
    """The client's own pending index (contract v2)."""
    return f"{PENDING_PREFIX}{client}:{dest_hash}"


def dest_limit(dest_hash: str) -> str:
    return DEST_LIMIT_PREFIX + dest_hash


def ip_limit(ip_hash: str) -> str:
    return IP_LIMIT_PREFIX + ip_hash


def client_limit(client: str) -> str:
    return CLIENT_LIMIT_PREFIX + client


def failed_checks(client: str, dest_hash: str) -> str:
    return f"{FAILED_CHECKS_PREFIX}{client}:{dest_hash}"


def prefix_limit(prefix_hash: str) -> str:
    return PREFIX_LIMIT_PREFIX + prefix_hash


def tally(prefix_hash: str) -> str:
    """The conversion guard's tally of a number prefix (SMS created and approved per bucket)."""
    return TALLY_PREFIX + prefix_hash


def prefix_block(prefix_hash: str) -> str:
    return BLOCK_PREFIX + prefix_hash


def idempotency(idem_hash: str) -> str:
    return IDEMPOTENCY_PREFIX + idem_hash


def user(user_id: str) -> str:
    return USER_PREFIX + user_id


# Storage contract version 3: a client's destination and the streams it writes share the slot
# tag of one of 64 buckets, so each script stays in one slot of a cluster.
V3 = "vfy3:"
BUCKETS = 64
V3_STREAM_MAXLEN = 10_000
TALLY_BLOCK_FIELD = "block"
IDEMPOTENCY_CLAIM_MS = 30_000  # cluster mode: the in-progress marker of an Idempotency-Key


def bucket(dest_key: str) -> int:
    return int(dest_key[:2], 16) % BUCKETS


def _tagged(dest_key: str) -> str:
    return f"{V3}{{b{bucket(dest_key)}}}"


def v3_record(client: str, dest_key: str) -> str:
    return f"{_tagged(dest_key)}:d:{client}:{dest_key}"


def v3_retained(client: str, dest_key: str) -> str:
    return f"{_tagged(dest_key)}:f:{client}:{dest_key}"


def v3_failed_checks(client: str, dest_key: str) -> str:
    return f"{_tagged(dest_key)}:fail:{client}:{dest_key}"


def v3_outbox(bucket_number: int) -> str:
    return f"{V3}{{b{bucket_number}}}:outbox"


def v3_events(bucket_number: int) -> str:
    return f"{V3}{{b{bucket_number}}}:events"


def v3_outboxes() -> list[str]:
    """Every bucket's outbox stream."""
    return [v3_outbox(number) for number in range(BUCKETS)]


def v3_events_streams() -> list[str]:
    """Every bucket's events stream."""
    return [v3_events(number) for number in range(BUCKETS)]
