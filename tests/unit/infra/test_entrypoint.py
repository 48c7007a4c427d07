"""The image entrypoint puts ECS's REDIS_PASSWORD into REDIS_URL, then execs the process."""

from __future__ import annotations

import subprocess
from pathlib import Path

ENTRYPOINT = Path(__file__).resolve().parents[3] / "infra" / "docker" / "entrypoint.sh"


def run(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(ENTRYPOINT), *argv], env={"PATH": "/usr/bin:/bin", **env},
                          capture_output=True, text=True, timeout=10, check=False)


def test_the_password_joins_the_user_the_url_names() -> None:
    result = run({"REDIS_URL": "rediss://send@cache.example:6379/0", "REDIS_PASSWORD": "abc123"},
                 "printenv", "REDIS_URL")
    assert result.stdout.strip() == "rediss://send:abc123@cache.example:6379/0"


def test_a_url_without_a_user_gets_the_password_alone() -> None:
    result = run({"REDIS_URL": "rediss://cache.example:6379/0", "REDIS_PASSWORD": "abc123"},
                 "printenv", "REDIS_URL")
    assert result.stdout.strip() == "rediss://:abc123@cache.example:6379/0"


def test_without_a_password_the_url_is_left_alone() -> None:
    result = run({"REDIS_URL": "redis://redis:6379/0"}, "printenv", "REDIS_URL")
    assert result.stdout.strip() == "redis://redis:6379/0"


def test_credentials_already_in_the_url_win() -> None:
    result = run({"REDIS_URL": "rediss://user:pw@cache:6379/0", "REDIS_PASSWORD": "abc"},
                 "printenv", "REDIS_URL")
    assert result.stdout.strip() == "rediss://user:pw@cache:6379/0"


def test_a_password_with_a_non_redis_url_is_refused() -> None:
    result = run({"REDIS_URL": "http://nope", "REDIS_PASSWORD": "abc"}, "true")
    assert result.returncode == 64 and "not a redis(s):// URL" in result.stderr


def test_the_process_replaces_the_shell_and_keeps_its_exit_code() -> None:
    result = run({}, "sh", "-c", "exit 7")
    assert result.returncode == 7
