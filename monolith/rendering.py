"""JSON shapes of docs/api.md, members in the documented order. Pure functions, no Flask."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def render_time(ms: int) -> str:
    """Milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`."""
    seconds, millis = divmod(ms, 1000)
    moment = datetime.fromtimestamp(seconds, UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{millis:03d}Z"


def effective_status(status: str, expires_at: int, now_ms: int | None) -> str:
    """A pending record whose expires_at is not after now reads as expired."""
    if status == "pending" and now_ms is not None and expires_at <= now_ms:
        return "expired"
    return status


def render_verification(record: dict[str, Any], now_ms: int | None = None) -> dict[str, Any]:
    """A verification from a record hash (strings) or a send snapshot (numbers)."""
    expires_at = int(record["expires_at"])
    return {
        "id": record["id"],
        "to": record["to"],
        "channel": record["channel"],
        "locale": record.get("locale") or None,
        "reference": record.get("reference") or None,
        "status": effective_status(str(record["status"]), expires_at, now_ms),
        "send_attempts": int(record["send_attempts"]),
        "check_attempts": int(record["check_attempts"]),
        "created_at": render_time(int(record["created_at"])),
        "expires_at": render_time(expires_at),
    }


def render_check(
    verification_id: str, to: str, channel: str, status: str, check_attempts: int, max_checks: int
) -> dict[str, Any]:
    return {
        "verification_id": verification_id,
        "to": to,
        "channel": channel,
        "status": status,
        "valid": status == "approved",
        "check_attempts": check_attempts,
        "remaining_attempts": max(0, max_checks - check_attempts),
    }


def render_user(user: dict[str, str]) -> dict[str, Any]:
    return {
        "id": user["id"],
        "name": user["name"],
        "phone": user.get("phone") or None,
        "email": user.get("email") or None,
        "phone_verified": user.get("phone_verified") == "1",
        "email_verified": user.get("email_verified") == "1",
        "created_at": render_time(int(user["created_at"])),
    }
