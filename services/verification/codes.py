"""Fresh codes and ids, from `secrets` only."""

from __future__ import annotations

import secrets

ID_PREFIX = "VE"


def generate_code(length: int) -> str:
    """`length` decimal digits, uniformly random, leading zeros allowed."""
    return "".join(secrets.choice("0123456789") for _ in range(length))


def new_verification_id() -> str:
    return ID_PREFIX + secrets.token_hex(16)
