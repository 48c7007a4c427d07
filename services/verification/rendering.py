"""Resources as docs/api.md shows them: member order fixed, times RFC 3339 with ms and `Z`."""

from __future__ import annotations

import functools
import time
from typing import Any

# A record snapshot as the send script stores it with an idempotency key (storage contract, step 7):
# id, to, channel, locale ("" for none), reference ("" for none; absent before v2), status,
# send_attempts, check_attempts, created_at and expires_at (integer ms). HGETALL records are
# converted to this shape by `snapshot_from_hash`.
Snapshot = dict[str, Any]


def render_time(ms: int) -> str:
    seconds, millis = divmod(int(ms), 1000)
    return f"{_second(seconds)}.{millis:03d}Z"


@functools.lru_cache(maxsize=64)
def _second(seconds: int) -> str:
    # time.gmtime, not datetime: the same UTC fields at a third of the cost (two per response).
    # Remembered: the responses of one second share their created_at's and expires_at's.
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


def snapshot_from_hash(fields: dict[str, str]) -> Snapshot:
    return {
        "id": fields["id"],
        "to": fields["to"],
        "channel": fields["channel"],
        "locale": fields.get("locale", ""),
        "reference": fields.get("reference", ""),
        "status": fields["status"],
        "send_attempts": int(fields["send_attempts"]),
        "check_attempts": int(fields["check_attempts"]),
        "created_at": int(fields["created_at"]),
        "expires_at": int(fields["expires_at"]),
    }


def effective_status(snapshot: Snapshot, now_ms: int) -> str:
    """A pending record past `expires_at` reads as expired, written or not."""
    if snapshot["status"] == "pending" and snapshot["expires_at"] <= now_ms:
        return "expired"
    return str(snapshot["status"])


def render_verification(snapshot: Snapshot, status: str | None = None) -> dict[str, Any]:
    """The same function for fresh responses and replays, so a replay is byte-for-byte equal."""
    return {
        "id": snapshot["id"],
        "to": snapshot["to"],
        "channel": snapshot["channel"],
        "locale": snapshot["locale"] or None,
        "reference": snapshot.get("reference") or None,
        "status": status or snapshot["status"],
        "send_attempts": int(snapshot["send_attempts"]),
        "check_attempts": int(snapshot["check_attempts"]),
        "created_at": render_time(snapshot["created_at"]),
        "expires_at": render_time(snapshot["expires_at"]),
    }


def render_check_result(
    verification_id: str, to: str, channel: str, status: str, check_attempts: int, max_checks: int
) -> dict[str, Any]:
    return {
        "verification_id": verification_id,
        "to": to,
        "channel": channel,
        "status": status,
        "valid": status == "approved",
        "check_attempts": check_attempts,
        "remaining_attempts": max(max_checks - check_attempts, 0),
    }
