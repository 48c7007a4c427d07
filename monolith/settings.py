"""Settings of the monolith, read from the environment once, in the app factory (docs/api.md)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass

import phonenumbers

DEVELOPMENT_PEPPER = "development-pepper-not-a-secret"
MIN_PRODUCTION_PEPPER_BYTES = 32
APP_ENVS = ("development", "production")
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# docs/api.md "Settings": countries where SMS termination is cheap and pumping rare; `*` is all.
DEFAULT_SMS_COUNTRIES = (
    "US", "CA", "GB", "IE", "DE", "FR", "ES", "IT", "NL", "BE",
    "AT", "CH", "SE", "NO", "DK", "FI", "PT", "PL", "AU", "NZ",
)
# docs/storage-contract.md "vfy:fg:{prefix_hash} fields": the conversion guard's window slides in
# this many buckets.
PREFIX_GUARD_BUCKETS = 24


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable and what to do."""


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int | None = None) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer; set it to a whole number") from None
    if value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise SettingsError(f"{name}={value} is out of range ({bounds})")
    return value



def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise SettingsError(f"{name}={raw!r} is not a flag; set it to 1 or leave it unset")

def parse_trusted_proxies(raw: str) -> tuple[IpNetwork, ...]:
    networks: list[IpNetwork] = []
    for part in raw.split(","):
        text = part.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise SettingsError(
                f"TRUSTED_PROXIES entry {text!r} is not a CIDR; use e.g. 10.0.0.0/8,::1/128"
            ) from None
    return tuple(networks)


def parse_sms_countries(raw: str) -> tuple[str, ...]:
    """Comma-separated region codes of phonenumbers (ISO 3166-1 alpha-2), or `*` alone."""
    countries = tuple(part.strip() for part in raw.split(",") if part.strip())
    if countries == ("*",):
        return countries
    unknown = [code for code in countries if code not in phonenumbers.SUPPORTED_REGIONS]
    if unknown or not countries:
        raise SettingsError(
            f"VERIFY_SMS_COUNTRIES={raw!r}: {', '.join(unknown) or 'no code'} is not a region "
            "code; use ISO 3166-1 alpha-2 codes in capitals (e.g. US,GB,FR) or * for all"
        )
    return countries


@dataclass(frozen=True)
class Settings:
    app_env: str = "development"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_cluster: bool = False  # REDIS_URL names a node of a Redis Cluster
    storage_write_version: int = 3  # what new verifications are written in; 2 and 3 are read
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
    dest_failed_checks_per_day: int = 20
    dest_failed_checks_window_seconds: int = 86400
    client_send_limit: int = 1000
    client_window_seconds: int = 3600
    sms_prefix_limit: int = 50
    sms_prefix_window_seconds: int = 3600
    prefix_guard_min_sms: int = 50
    prefix_guard_min_approved_percent: int = 10
    prefix_guard_window_seconds: int = 86400
    prefix_guard_block_seconds: int = 43200
    sms_global_limit: int = 1200
    sms_global_window_seconds: int = 60
    idempotency_ttl_seconds: int = 86400
    trusted_proxies: tuple[IpNetwork, ...] = ()
    max_body_bytes: int = 16384
    sms_countries: tuple[str, ...] = DEFAULT_SMS_COUNTRIES
    users_ttl_seconds: int = 30 * 86400
    keyring_file: str = ""
    keyring_secret_arn: str = ""
    keyring_reload_seconds: int = 30

    @property
    def prefix_guard_bucket_ms(self) -> int:
        """One bucket of the conversion guard's sliding window, in ms."""
        return self.prefix_guard_window_seconds * 1000 // PREFIX_GUARD_BUCKETS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        app_env = env.get("APP_ENV", "").strip() or "development"
        if app_env not in APP_ENVS:
            raise SettingsError(f"APP_ENV={app_env!r} is not one of {', '.join(APP_ENVS)}")
        pepper = env.get("CODE_PEPPER", "")
        keyring_file = env.get("KEYRING_FILE", "").strip()
        keyring_secret_arn = env.get("KEYRING_SECRET_ARN", "").strip()
        if keyring_file and keyring_secret_arn:
            raise SettingsError(
                "KEYRING_FILE and KEYRING_SECRET_ARN are both set: set only one keyring source"
            )
        if app_env == "production":
            _refuse_weak_pepper(pepper)
        return cls(
            app_env=app_env,
            redis_url=env.get("REDIS_URL", "").strip() or cls.redis_url,
            redis_cluster=_flag(env, "REDIS_CLUSTER"),
            storage_write_version=_int(env, "VERIFY_STORAGE_WRITE_VERSION", 3, 2, 3),
            code_pepper=pepper or DEVELOPMENT_PEPPER,
            code_length=_int(env, "VERIFY_CODE_LENGTH", 6, 4, 10),
            code_ttl_seconds=_int(env, "VERIFY_CODE_TTL_SECONDS", 600, 1),
            retention_seconds=_int(env, "VERIFY_RETENTION_SECONDS", 86400, 1),
            resend_cooldown_seconds=_int(env, "VERIFY_RESEND_COOLDOWN_SECONDS", 30, 0),
            max_sends=_int(env, "VERIFY_MAX_SENDS", 5, 1),
            max_checks=_int(env, "VERIFY_MAX_CHECKS", 5, 1),
            dest_limit=_int(env, "VERIFY_DEST_LIMIT", 10, 1),
            dest_window_seconds=_int(env, "VERIFY_DEST_WINDOW_SECONDS", 3600, 1),
            ip_limit=_int(env, "VERIFY_IP_LIMIT", 100, 1),
            ip_window_seconds=_int(env, "VERIFY_IP_WINDOW_SECONDS", 3600, 1),
            dest_failed_checks_per_day=_int(env, "VERIFY_DEST_FAILED_CHECKS_PER_DAY", 20, 1),
            dest_failed_checks_window_seconds=_int(
                env, "VERIFY_DEST_FAILED_CHECKS_WINDOW_SECONDS", 86400, 1
            ),
            client_send_limit=_int(env, "VERIFY_CLIENT_SEND_LIMIT", 1000, 1),
            client_window_seconds=_int(env, "VERIFY_CLIENT_WINDOW_SECONDS", 3600, 1),
            sms_prefix_limit=_int(env, "VERIFY_SMS_PREFIX_LIMIT", 50, 1),
            sms_prefix_window_seconds=_int(env, "VERIFY_SMS_PREFIX_WINDOW_SECONDS", 3600, 1),
            prefix_guard_min_sms=_int(env, "VERIFY_PREFIX_GUARD_MIN_SMS", 50, 1),
            prefix_guard_min_approved_percent=_int(
                env, "VERIFY_PREFIX_GUARD_MIN_APPROVED_PERCENT", 10, 0, 100
            ),
            prefix_guard_window_seconds=_prefix_guard_window(env),
            prefix_guard_block_seconds=_int(env, "VERIFY_PREFIX_GUARD_BLOCK_SECONDS", 43200, 1),
            sms_global_limit=_int(env, "VERIFY_SMS_GLOBAL_LIMIT", 1200, 1),
            sms_global_window_seconds=_int(env, "VERIFY_SMS_GLOBAL_WINDOW_SECONDS", 60, 1),
            idempotency_ttl_seconds=_int(env, "IDEMPOTENCY_TTL_SECONDS", 86400, 1),
            trusted_proxies=parse_trusted_proxies(env.get("TRUSTED_PROXIES", "")),
            max_body_bytes=_int(env, "MAX_BODY_BYTES", 16384, 1),
            sms_countries=(
                parse_sms_countries(raw_countries)
                if (raw_countries := env.get("VERIFY_SMS_COUNTRIES", "")).strip()
                else DEFAULT_SMS_COUNTRIES
            ),
            users_ttl_seconds=_int(env, "USERS_TTL_SECONDS", 30 * 86400, 1),
            keyring_file=keyring_file,
            keyring_secret_arn=keyring_secret_arn,
            keyring_reload_seconds=_int(env, "KEYRING_RELOAD_SECONDS", 30, 1, 60),
        )


def _prefix_guard_window(env: Mapping[str, str]) -> int:
    name = "VERIFY_PREFIX_GUARD_WINDOW_SECONDS"
    value = _int(env, name, 86400, PREFIX_GUARD_BUCKETS)
    if value % PREFIX_GUARD_BUCKETS:
        raise SettingsError(
            f"{name}={value} is not a multiple of {PREFIX_GUARD_BUCKETS}: the window slides in "
            f"{PREFIX_GUARD_BUCKETS} buckets; use e.g. 86400"
        )
    return value


def _refuse_weak_pepper(pepper: str) -> None:
    """docs/api.md "Production". The keyring rules are the web app's (monolith.auth): the events
    consumer reads these settings too and serves no API."""
    if not pepper or pepper == DEVELOPMENT_PEPPER:
        raise SettingsError(
            "APP_ENV=production requires CODE_PEPPER: set it to a long random secret "
            "shared by every component (e.g. `python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'`)"
        )
    if len(pepper.encode("utf-8")) < MIN_PRODUCTION_PEPPER_BYTES:
        raise SettingsError(
            f"APP_ENV=production requires CODE_PEPPER of at least {MIN_PRODUCTION_PEPPER_BYTES} "
            "bytes: set it to e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
