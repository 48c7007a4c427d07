"""Settings of docs/api.md "Settings", read from the environment by a factory (never at import)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Development only: APP_ENV=production refuses to start without a real CODE_PEPPER.
DEVELOPMENT_PEPPER = "development-pepper-not-a-secret"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable and what to set."""


@dataclass(frozen=True)
class Settings:
    app_env: str = "development"
    redis_url: str = "redis://127.0.0.1:6379/0"
    code_pepper: str = DEVELOPMENT_PEPPER
    code_length: int = 6
    code_ttl_seconds: int = 600
    retention_seconds: int = 86400
    resend_cooldown_seconds: int = 30
    max_sends: int = 5
    max_checks: int = 5
    dest_limit: int = 10
    dest_window_seconds: int = 3600
    ip_limit: int = 100
    ip_window_seconds: int = 3600
    idempotency_ttl_seconds: int = 86400
    trusted_proxies: tuple[IPNetwork, ...] = ()
    max_body_bytes: int = 16384

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        app_env = env.get("APP_ENV", "development")
        pepper = env.get("CODE_PEPPER", "")
        if app_env == "production" and not pepper:
            raise SettingsError("APP_ENV=production requires CODE_PEPPER (a long random secret)")
        settings = cls(
            app_env=app_env,
            redis_url=env.get("REDIS_URL", cls.redis_url),
            code_pepper=pepper or DEVELOPMENT_PEPPER,
            code_length=env_int(env, "VERIFY_CODE_LENGTH", 6, low=4, high=10),
            code_ttl_seconds=env_int(env, "VERIFY_CODE_TTL_SECONDS", 600),
            retention_seconds=env_int(env, "VERIFY_RETENTION_SECONDS", 86400),
            resend_cooldown_seconds=env_int(env, "VERIFY_RESEND_COOLDOWN_SECONDS", 30, low=0),
            max_sends=env_int(env, "VERIFY_MAX_SENDS", 5),
            max_checks=env_int(env, "VERIFY_MAX_CHECKS", 5),
            dest_limit=env_int(env, "VERIFY_DEST_LIMIT", 10),
            dest_window_seconds=env_int(env, "VERIFY_DEST_WINDOW_SECONDS", 3600),
            ip_limit=env_int(env, "VERIFY_IP_LIMIT", 100),
            ip_window_seconds=env_int(env, "VERIFY_IP_WINDOW_SECONDS", 3600),
            idempotency_ttl_seconds=env_int(env, "IDEMPOTENCY_TTL_SECONDS", 86400),
            trusted_proxies=parse_networks(env.get("TRUSTED_PROXIES", "")),
            max_body_bytes=env_int(env, "MAX_BODY_BYTES", 16384),
        )
        return settings


def env_int(
    env: Mapping[str, str], name: str, default: int, low: int = 1, high: int | None = None
) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < low or (high is not None and value > high):
        bounds = f"{low}-{high}" if high is not None else f">= {low}"
        raise SettingsError(f"{name} must be {bounds}, got {value}")
    return value


def parse_networks(raw: str) -> tuple[IPNetwork, ...]:
    """Comma-separated CIDRs (a bare address means a /32 or /128)."""
    networks: list[IPNetwork] = []
    for part in raw.split(","):
        text = part.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise SettingsError(f"TRUSTED_PROXIES has an invalid CIDR: {text!r}") from None
    return tuple(networks)
