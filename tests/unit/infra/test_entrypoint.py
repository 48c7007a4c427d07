"""The image entrypoint puts ECS's REDIS_AUTH_TOKEN into REDIS_URL, then execs the process."""

from __future__ import annotations

import subprocess
from pathlib import Path

ENTRYPOINT = Path(__file__).resolve().parents[3] / "infra" / "docker" / "entrypoint.sh"


def run(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(ENTRYPOINT), *argv], env={"PATH": "/usr/bin:/bin", **env},
                          capture_output=True, text=True, timeout=10, check=False)


def test_token_goes_into_a_tls_url() -> None:
    result = run({"REDIS_URL": "rediss://cache.example:6379/0", "REDIS_AUTH_TOKEN": "abc123"},
                 "printenv", "REDIS_URL")
    assert result.stdout.strip() == "rediss://:abc123@cache.example:6379/0"


def test_without_a_token_the_url_is_left_alone() -> None:
    result = run({"REDIS_URL": "redis://redis:6379/0"}, "printenv", "REDIS_URL")
    assert result.stdout.strip() == "redis://redis:6379/0"


def test_credentials_already_in_the_url_win() -> None:
    result = run({"REDIS_URL": "rediss://user:pw@cache:6379/0", "REDIS_AUTH_TOKEN": "abc"},
                 "printenv", "REDIS_URL")
    assert result.stdout.strip() == "rediss://user:pw@cache:6379/0"


def test_a_token_with_a_non_redis_url_is_refused() -> None:
    result = run({"REDIS_URL": "http://nope", "REDIS_AUTH_TOKEN": "abc"}, "true")
    assert result.returncode == 64 and "not a redis(s):// URL" in result.stderr


def test_the_process_replaces_the_shell_and_keeps_its_exit_code() -> None:
    result = run({}, "sh", "-c", "exit 7")
    assert result.returncode == 7
