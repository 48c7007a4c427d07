"""The policy the servers under test run with, read from the same env vars (docs/api.md Settings).

The suite must know the limits to test them; reading the servers' own variable names keeps one
source of truth when `./dev test` passes one environment to both.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import pytest

# A test that would have to sleep longer than this is skipped, naming the setting to lower.
DEFAULT_MAX_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class Policy:
    code_length: int = 6
    code_ttl_seconds: int = 600
    resend_cooldown_seconds: int = 30
    max_sends: int = 5
    max_checks: int = 5
    dest_limit: int = 10
    dest_window_seconds: int = 3600
    ip_limit: int = 100
    ip_window_seconds: int = 3600
    max_body_bytes: int = 16384
    max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Policy:
        def number(name: str, default: int) -> int:
            raw = env.get(name, "").strip()
            return int(raw) if raw else default

        base = cls()
        return cls(
            code_length=number("VERIFY_CODE_LENGTH", base.code_length),
            code_ttl_seconds=number("VERIFY_CODE_TTL_SECONDS", base.code_ttl_seconds),
            resend_cooldown_seconds=number(
                "VERIFY_RESEND_COOLDOWN_SECONDS", base.resend_cooldown_seconds
            ),
            max_sends=number("VERIFY_MAX_SENDS", base.max_sends),
            max_checks=number("VERIFY_MAX_CHECKS", base.max_checks),
            dest_limit=number("VERIFY_DEST_LIMIT", base.dest_limit),
            dest_window_seconds=number("VERIFY_DEST_WINDOW_SECONDS", base.dest_window_seconds),
            ip_limit=number("VERIFY_IP_LIMIT", base.ip_limit),
            ip_window_seconds=number("VERIFY_IP_WINDOW_SECONDS", base.ip_window_seconds),
            max_body_bytes=number("MAX_BODY_BYTES", base.max_body_bytes),
            max_wait_seconds=float(
                env.get("CONTRACT_MAX_WAIT_SECONDS", "") or DEFAULT_MAX_WAIT_SECONDS
            ),
        )

    def require_wait(self, seconds: float, setting: str) -> None:
        """Skip (never pass) a test whose waiting time under this policy is too long."""
        if seconds > self.max_wait_seconds:
            pytest.skip(
                f"needs about {seconds:.0f}s of waiting (> {self.max_wait_seconds:.0f}s) under "
                f"the current settings; lower {setting} for the servers and this suite "
                f"(./dev test uses a short-settings profile), or raise CONTRACT_MAX_WAIT_SECONDS"
            )

    def require_count(self, requests: int, setting: str, most: int = 300) -> None:
        if requests > most:
            pytest.skip(
                f"needs {requests} requests (> {most}) under the current settings; lower {setting}"
            )
