"""The words the user receives (one place: the brief's message text)."""

from __future__ import annotations

EMAIL_SUBJECT = "Your verification code"


def expiry_minutes(code_ttl_seconds: int) -> int:
    """Whole minutes, rounded down so the text never promises more time than the code has."""
    return max(1, code_ttl_seconds // 60)


def message_text(code: str, minutes: int) -> str:
    return f"Your verification code is {code}. It expires in {minutes} minutes."
