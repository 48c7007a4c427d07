"""The settings of docs/api.md "Settings": each default here, and only here, on the new side.

Read by `Settings.from_env()` in the app factories (never at import); the dispatcher reuses them
whole. tests/unit/services/test_documented_defaults.py holds these defaults to the docs' table.
"""

from __future__ import annotations

from typing import Annotated, Literal

import phonenumbers
from pydantic import AfterValidator, BeforeValidator, model_validator

from kit.settings import Count, EnvSettings, Networks, env_var
from services.verification.keys import TALLY_BUCKETS

# Development only: APP_ENV=production refuses to start without a real CODE_PEPPER.
DEVELOPMENT_PEPPER = "development-pepper-not-a-secret"
MIN_PRODUCTION_PEPPER_BYTES = 32


def _countries_from_text(raw: object) -> object:
    """VERIFY_SMS_COUNTRIES: region codes of phonenumbers (ISO 3166-1 alpha-2), or `*` alone."""
    if not isinstance(raw, str):
        return raw
    countries = tuple(part.strip() for part in raw.split(",") if part.strip())
    unknown = [code for code in countries if code not in phonenumbers.SUPPORTED_REGIONS]
    if countries != ("*",) and (unknown or not countries):
        raise ValueError(
            f"{', '.join(unknown) or 'no code'} is not a region code; use ISO 3166-1 alpha-2 "
            "codes in capitals (e.g. US,GB,FR) or * for all"
        )
    return countries


Countries = Annotated[tuple[str, ...], BeforeValidator(_countries_from_text)]


def _whole_buckets(seconds: int) -> int:
    """The conversion guard's window slides in TALLY_BUCKETS buckets of whole seconds."""
    if seconds % TALLY_BUCKETS:
        raise ValueError(f"must be a multiple of {TALLY_BUCKETS} (the window slides in "
                         f"{TALLY_BUCKETS} steps)")
    return seconds


GuardWindow = Annotated[Count, AfterValidator(_whole_buckets)]


class Settings(EnvSettings):
    app_env: Annotated[Literal["development", "production"], env_var("APP_ENV")] = "development"
    redis_url: Annotated[str, env_var("REDIS_URL")] = "redis://127.0.0.1:6379/0"
    # REDIS_URL names a node of a Redis Cluster: cluster clients, no version-2 read path.
    redis_cluster: Annotated[bool, env_var("REDIS_CLUSTER")] = False
    # The storage-contract version new verifications are created in; both are always read.
    storage_write_version: Annotated[
        int, env_var("VERIFY_STORAGE_WRITE_VERSION", ge=2, le=3)
    ] = 3
    code_pepper: Annotated[str, env_var("CODE_PEPPER", repr=False)] = DEVELOPMENT_PEPPER
    code_length: Annotated[int, env_var("VERIFY_CODE_LENGTH", ge=4, le=10)] = 6
    code_ttl_seconds: Annotated[Count, env_var("VERIFY_CODE_TTL_SECONDS")] = 600
    retention_seconds: Annotated[Count, env_var("VERIFY_RETENTION_SECONDS")] = 86400
    resend_cooldown_seconds: Annotated[int, env_var("VERIFY_RESEND_COOLDOWN_SECONDS", ge=0)] = 30
    max_sends: Annotated[Count, env_var("VERIFY_MAX_SENDS")] = 5
    max_checks: Annotated[Count, env_var("VERIFY_MAX_CHECKS")] = 5
    dest_limit: Annotated[Count, env_var("VERIFY_DEST_LIMIT")] = 10
    dest_window_seconds: Annotated[Count, env_var("VERIFY_DEST_WINDOW_SECONDS")] = 3600
    ip_limit: Annotated[Count, env_var("VERIFY_IP_LIMIT")] = 100
    ip_window_seconds: Annotated[Count, env_var("VERIFY_IP_WINDOW_SECONDS")] = 3600
    # Wrong codes per client and destination per window (from the first failure), and sends per
    # client per window (docs/api.md "Rate limits").
    dest_failed_checks_per_day: Annotated[Count, env_var("VERIFY_DEST_FAILED_CHECKS_PER_DAY")] = 20
    dest_failed_checks_window_seconds: Annotated[
        Count, env_var("VERIFY_DEST_FAILED_CHECKS_WINDOW_SECONDS")] = 86400
    client_send_limit: Annotated[Count, env_var("VERIFY_CLIENT_SEND_LIMIT")] = 1000
    client_window_seconds: Annotated[Count, env_var("VERIFY_CLIENT_WINDOW_SECONDS")] = 3600
    # The SMS-pumping guards (docs/api.md "SMS-pumping guards"), SMS only, across all clients.
    sms_prefix_limit: Annotated[Count, env_var("VERIFY_SMS_PREFIX_LIMIT")] = 50
    sms_prefix_window_seconds: Annotated[Count, env_var("VERIFY_SMS_PREFIX_WINDOW_SECONDS")] = 3600
    prefix_guard_min_sms: Annotated[Count, env_var("VERIFY_PREFIX_GUARD_MIN_SMS")] = 50
    prefix_guard_min_approved_percent: Annotated[
        int, env_var("VERIFY_PREFIX_GUARD_MIN_APPROVED_PERCENT", ge=0, le=100)] = 10
    prefix_guard_window_seconds: Annotated[
        GuardWindow, env_var("VERIFY_PREFIX_GUARD_WINDOW_SECONDS")] = 86400
    prefix_guard_block_seconds: Annotated[
        Count, env_var("VERIFY_PREFIX_GUARD_BLOCK_SECONDS")] = 43200
    sms_global_limit: Annotated[Count, env_var("VERIFY_SMS_GLOBAL_LIMIT")] = 1200
    sms_global_window_seconds: Annotated[Count, env_var("VERIFY_SMS_GLOBAL_WINDOW_SECONDS")] = 60
    idempotency_ttl_seconds: Annotated[Count, env_var("IDEMPOTENCY_TTL_SECONDS")] = 86400
    trusted_proxies: Annotated[Networks, env_var("TRUSTED_PROXIES")] = ()
    max_body_bytes: Annotated[Count, env_var("MAX_BODY_BYTES")] = 16384
    # The API keys' keyring (docs/api.md "The keyring"): one source or none. The web factory
    # loads it; production without one is refused there (the dispatcher reads these settings
    # too and serves no API).
    keyring_file: Annotated[str, env_var("KEYRING_FILE")] = ""
    keyring_secret_arn: Annotated[str, env_var("KEYRING_SECRET_ARN")] = ""
    keyring_reload_seconds: Annotated[int, env_var("KEYRING_RELOAD_SECONDS", ge=1, le=60)] = 30
    # Countries where SMS termination is cheap and pumping rare (docs/api.md "Settings").
    sms_countries: Annotated[Countries, env_var("VERIFY_SMS_COUNTRIES")] = (
        "US", "CA", "GB", "IE", "DE", "FR", "ES", "IT", "NL", "BE",
        "AT", "CH", "SE", "NO", "DK", "FI", "PT", "PL", "AU", "NZ",
    )

    @model_validator(mode="after")
    def _production_has_a_pepper(self) -> Settings:
        if self.app_env == "production" and self.code_pepper == DEVELOPMENT_PEPPER:
            raise ValueError(
                "APP_ENV=production requires CODE_PEPPER: set it to a long random secret shared "
                "by every component (e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'`)"
            )
        if (self.app_env == "production"
                and len(self.code_pepper.encode("utf-8")) < MIN_PRODUCTION_PEPPER_BYTES):
            raise ValueError(
                f"APP_ENV=production requires CODE_PEPPER of at least "
                f"{MIN_PRODUCTION_PEPPER_BYTES} bytes: set it to e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'`"
            )
        return self

    @model_validator(mode="after")
    def _one_keyring_source(self) -> Settings:
        if self.keyring_file and self.keyring_secret_arn:
            raise ValueError(
                "KEYRING_FILE and KEYRING_SECRET_ARN are both set: set only one keyring source"
            )
        return self
