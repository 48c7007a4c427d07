"""The policy the servers under test run with: docs/api.md "Settings", overridden by the env vars.

The suite must know the limits to test them. Their defaults are published once, in the docs'
table (parsed here, so the suite stays HTTP-only and imports neither side); the servers' own
variable names override them when `./dev test` passes one environment to both.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

API_DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
# A test that would have to sleep longer than this is skipped, naming the setting to lower.
DEFAULT_MAX_WAIT_SECONDS = 30.0
_ROW = re.compile(r"\|\s*`(?P<name>[A-Z][A-Z0-9_]*)`\s*\|\s*(?P<default>[^|]*?)\s*\|")


def documented_defaults(doc: Path = API_DOC) -> dict[str, str]:
    """Each variable of the "Settings" table with its default as text (`empty` is "")."""
    text = doc.read_text(encoding="utf-8")
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    defaults: dict[str, str] = {}
    for line in section.splitlines():
        if row := _ROW.match(line):
            cell = row["default"]
            defaults[row["name"]] = "" if cell == "empty" else cell.strip("`")
    if not defaults:
        raise ValueError(f"{doc}: no rows in the Settings table")
    return defaults


@dataclass(frozen=True)
class Policy:
    code_length: int
    code_ttl_seconds: int
    resend_cooldown_seconds: int
    max_sends: int
    max_checks: int
    dest_limit: int
    dest_window_seconds: int
    ip_limit: int
    ip_window_seconds: int
    client_send_limit: int
    client_window_seconds: int
    failed_checks_per_day: int
    failed_checks_window_seconds: int
    max_body_bytes: int
    sms_prefix_limit: int
    sms_prefix_window_seconds: int
    prefix_guard_min_sms: int
    prefix_guard_min_approved_percent: int
    prefix_guard_window_seconds: int
    prefix_guard_block_seconds: int
    sms_global_limit: int
    sms_global_window_seconds: int
    sms_countries: tuple[str, ...]  # region codes SMS may go to; `*` is every one
    max_wait_seconds: float = DEFAULT_MAX_WAIT_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Policy:
        documented = documented_defaults()

        def number(name: str) -> int:
            return int(env.get(name, "").strip() or documented[name])

        return cls(
            code_length=number("VERIFY_CODE_LENGTH"),
            code_ttl_seconds=number("VERIFY_CODE_TTL_SECONDS"),
            resend_cooldown_seconds=number("VERIFY_RESEND_COOLDOWN_SECONDS"),
            max_sends=number("VERIFY_MAX_SENDS"),
            max_checks=number("VERIFY_MAX_CHECKS"),
            dest_limit=number("VERIFY_DEST_LIMIT"),
            dest_window_seconds=number("VERIFY_DEST_WINDOW_SECONDS"),
            ip_limit=number("VERIFY_IP_LIMIT"),
            ip_window_seconds=number("VERIFY_IP_WINDOW_SECONDS"),
            client_send_limit=number("VERIFY_CLIENT_SEND_LIMIT"),
            client_window_seconds=number("VERIFY_CLIENT_WINDOW_SECONDS"),
            failed_checks_per_day=number("VERIFY_DEST_FAILED_CHECKS_PER_DAY"),
            failed_checks_window_seconds=number("VERIFY_DEST_FAILED_CHECKS_WINDOW_SECONDS"),
            max_body_bytes=number("MAX_BODY_BYTES"),
            sms_prefix_limit=number("VERIFY_SMS_PREFIX_LIMIT"),
            sms_prefix_window_seconds=number("VERIFY_SMS_PREFIX_WINDOW_SECONDS"),
            prefix_guard_min_sms=number("VERIFY_PREFIX_GUARD_MIN_SMS"),
            prefix_guard_min_approved_percent=number("VERIFY_PREFIX_GUARD_MIN_APPROVED_PERCENT"),
            prefix_guard_window_seconds=number("VERIFY_PREFIX_GUARD_WINDOW_SECONDS"),
            prefix_guard_block_seconds=number("VERIFY_PREFIX_GUARD_BLOCK_SECONDS"),
            sms_global_limit=number("VERIFY_SMS_GLOBAL_LIMIT"),
            sms_global_window_seconds=number("VERIFY_SMS_GLOBAL_WINDOW_SECONDS"),
            sms_countries=tuple(
                code.strip()
                for code in (
                    env.get("VERIFY_SMS_COUNTRIES", "").strip()
                    or documented["VERIFY_SMS_COUNTRIES"]
                ).split(",")
                if code.strip()
            ),
            max_wait_seconds=float(
                env.get("CONTRACT_MAX_WAIT_SECONDS", "") or DEFAULT_MAX_WAIT_SECONDS
            ),
        )

    def conversion_guard_blocks(self, created: int, approved: int) -> bool:
        """Whether a prefix with `created` SMS verifications and `approved` approvals in the
        window is blocked at its next SMS send (docs/api.md "SMS-pumping guards")."""
        return (created >= self.prefix_guard_min_sms
                and approved * 100 < created * self.prefix_guard_min_approved_percent)

    def permits_sms_to(self, region: str) -> bool:
        return "*" in self.sms_countries or region in self.sms_countries

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
