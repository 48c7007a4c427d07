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

# The API keys (docs/api.md, API keys): the one every request carries, another client's, one with
# only the `send` scope, and a revoked one. Each `--api-key…` option, or its variable.
KEYS = {
    "api-key": "CONTRACT_API_KEY",
    "api-key-b": "CONTRACT_API_KEY_B",
    "api-key-send-only": "CONTRACT_API_KEY_SEND_ONLY",
    "api-key-revoked": "CONTRACT_API_KEY_REVOKED",
}


def api_key(config: pytest.Config, name: str) -> str | None:
    value = config.getoption(f"--{name}") or os.environ.get(KEYS[name])
    return str(value).strip() if value else None


def option(config: pytest.Config, role: str) -> str | None:
    name = f"--{role}-url" if not role.startswith("diff") else f"--{role}"
    value = config.getoption(name) or os.environ.get(ROLES[role])
    return str(value).rstrip("/") if value else None


def extra_headers(config: pytest.Config) -> dict[str, str]:
    given = [*config.getoption("--header"), *os.environ.get("CONTRACT_HEADERS", "").split(";")]
    pairs = [item.partition(":") for item in given if item.strip()]
    return {name.strip(): value.strip() for name, _, value in pairs}
