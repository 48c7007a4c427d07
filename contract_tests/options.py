"""Command-line options of the suite, each with an environment variable as fallback."""

from __future__ import annotations

import os

import pytest

ROLES = {
    "base": "CONTRACT_BASE_URL",
    "send": "CONTRACT_SEND_URL",
    "check": "CONTRACT_CHECK_URL",
    "users": "CONTRACT_USERS_URL",
    "inbox": "CONTRACT_INBOX_URL",
    "diff-a": "CONTRACT_DIFF_A",
    "diff-b": "CONTRACT_DIFF_B",
}


def option(config: pytest.Config, role: str) -> str | None:
    name = f"--{role}-url" if not role.startswith("diff") else f"--{role}"
    value = config.getoption(name) or os.environ.get(ROLES[role])
    return str(value).rstrip("/") if value else None


def extra_headers(config: pytest.Config) -> dict[str, str]:
    given = [*config.getoption("--header"), *os.environ.get("CONTRACT_HEADERS", "").split(";")]
    pairs = [item.partition(":") for item in given if item.strip()]
    return {name.strip(): value.strip() for name, _, value in pairs}
