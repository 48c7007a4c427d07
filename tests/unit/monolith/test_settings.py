"""Settings.from_env: defaults, parsing and the production pepper rule."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest

from monolith.settings import DEVELOPMENT_PEPPER, Settings, SettingsError

PEPPER = "a-production-pepper-of-32-bytes-or-more"  # production asks for 32 bytes or more
ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:keyring"
API_DOC = Path(__file__).resolve().parents[3] / "docs" / "api.md"


def documented_numeric_defaults() -> dict[str, int]:
    """`VARIABLE | number` rows of the Settings table of docs/api.md."""
    section = API_DOC.read_text().split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    return {name: int(value)
            for name, value in re.findall(r"^\| `(\w+)` \| (\d+) \|", section, re.MULTILINE)}


def test_defaults_are_those_of_the_api_document() -> None:
    settings = Settings.from_env({})
    assert settings.app_env == "development"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.code_pepper == DEVELOPMENT_PEPPER
    assert (settings.code_length, settings.code_ttl_seconds, settings.retention_seconds) == (
        6, 600, 86400,
    )
    assert (settings.resend_cooldown_seconds, settings.max_sends, settings.max_checks) == (30, 5, 5)
    assert (settings.dest_limit, settings.dest_window_seconds) == (10, 3600)
    assert (settings.ip_limit, settings.ip_window_seconds) == (100, 3600)
    assert (settings.dest_failed_checks_per_day, settings.dest_failed_checks_window_seconds) == (
        20, 86400,
    )
    assert (settings.client_send_limit, settings.client_window_seconds) == (1000, 3600)
    assert settings.idempotency_ttl_seconds == 86400
    assert settings.trusted_proxies == ()
    assert settings.max_body_bytes == 16384
    assert settings.users_ttl_seconds == 30 * 86400


def test_every_numeric_default_of_the_api_document_is_read() -> None:
    """Each documented number is the default of the one setting its variable changes."""
    documented = documented_numeric_defaults()
    assert {"VERIFY_SMS_PREFIX_LIMIT", "VERIFY_PREFIX_GUARD_BLOCK_SECONDS",
            "VERIFY_SMS_GLOBAL_WINDOW_SECONDS"} <= set(documented)
    defaults = vars(Settings.from_env({}))
    for name, default in documented.items():
        other = next(value for value in (default * 2, default + 1, default - 1)
                     if value != default and _accepted(name, value))
        changed = {field: value for field, value in vars(Settings.from_env({name: str(other)}))
                   .items() if value != defaults[field]}
        assert len(changed) == 1, name
        [field] = changed
        assert (defaults[field], changed[field]) == (default, other), name


def _accepted(name: str, value: int) -> bool:
    try:
        Settings.from_env({name: str(value)})
    except SettingsError:
        return False
    return True


def test_sms_guard_defaults() -> None:
    settings = Settings.from_env({})
    assert (settings.sms_prefix_limit, settings.sms_prefix_window_seconds) == (50, 3600)
    assert (settings.prefix_guard_min_sms, settings.prefix_guard_min_approved_percent) == (50, 10)
    assert (settings.prefix_guard_window_seconds, settings.prefix_guard_block_seconds) == (
        86400, 43200)
    assert (settings.sms_global_limit, settings.sms_global_window_seconds) == (1200, 60)
    assert settings.prefix_guard_bucket_ms == 3_600_000  # an hour: 24 buckets a day


@pytest.mark.parametrize(("name", "value", "field"), [
    ("VERIFY_PREFIX_GUARD_MIN_APPROVED_PERCENT", "0", "prefix_guard_min_approved_percent"),
    ("VERIFY_PREFIX_GUARD_MIN_APPROVED_PERCENT", "100", "prefix_guard_min_approved_percent"),
    ("VERIFY_PREFIX_GUARD_WINDOW_SECONDS", "24", "prefix_guard_window_seconds"),
    ("VERIFY_PREFIX_GUARD_WINDOW_SECONDS", "240", "prefix_guard_window_seconds"),
])
def test_sms_guard_bounds_accepted(name: str, value: str, field: str) -> None:
    assert getattr(Settings.from_env({name: value}), field) == int(value)


def test_every_variable_is_read() -> None:
    settings = Settings.from_env(
        {
            "APP_ENV": "production", "CODE_PEPPER": PEPPER, "REDIS_URL": "redis://h:1/2",
            "VERIFY_CODE_LENGTH": "8", "VERIFY_CODE_TTL_SECONDS": "300",
            "VERIFY_RETENTION_SECONDS": "60", "VERIFY_RESEND_COOLDOWN_SECONDS": "0",
            "VERIFY_MAX_SENDS": "3", "VERIFY_MAX_CHECKS": "4", "VERIFY_DEST_LIMIT": "7",
            "VERIFY_DEST_WINDOW_SECONDS": "70", "VERIFY_IP_LIMIT": "9",
            "VERIFY_IP_WINDOW_SECONDS": "90", "IDEMPOTENCY_TTL_SECONDS": "99",
            "TRUSTED_PROXIES": "10.0.0.0/8, ::1", "MAX_BODY_BYTES": "100",
            "USERS_TTL_SECONDS": "5", "KEYRING_FILE": "/run/keyring.json",
            "KEYRING_RELOAD_SECONDS": "5", "VERIFY_SMS_PREFIX_LIMIT": "11",
            "VERIFY_SMS_PREFIX_WINDOW_SECONDS": "12", "VERIFY_PREFIX_GUARD_MIN_SMS": "13",
            "VERIFY_PREFIX_GUARD_MIN_APPROVED_PERCENT": "0",
            "VERIFY_PREFIX_GUARD_WINDOW_SECONDS": "48", "VERIFY_PREFIX_GUARD_BLOCK_SECONDS": "15",
            "VERIFY_SMS_GLOBAL_LIMIT": "16", "VERIFY_SMS_GLOBAL_WINDOW_SECONDS": "17",
        }
    )
    assert settings == Settings(
        app_env="production", redis_url="redis://h:1/2", code_pepper=PEPPER,
        code_length=8,
        code_ttl_seconds=300, retention_seconds=60, resend_cooldown_seconds=0, max_sends=3,
        max_checks=4, dest_limit=7, dest_window_seconds=70, ip_limit=9, ip_window_seconds=90,
        idempotency_ttl_seconds=99,
        trusted_proxies=(ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128")),
        max_body_bytes=100, users_ttl_seconds=5, keyring_file="/run/keyring.json",
        keyring_reload_seconds=5, sms_prefix_limit=11, sms_prefix_window_seconds=12,
        prefix_guard_min_sms=13, prefix_guard_min_approved_percent=0,
        prefix_guard_window_seconds=48, prefix_guard_block_seconds=15, sms_global_limit=16,
        sms_global_window_seconds=17,
    )


def test_production_without_pepper_refuses_to_start() -> None:
    with pytest.raises(SettingsError, match="CODE_PEPPER"):
        Settings.from_env({"APP_ENV": "production"})


@pytest.mark.parametrize(
    ("pepper", "message"),
    [(DEVELOPMENT_PEPPER, "requires CODE_PEPPER: set it"),
     ("x" * 31, "CODE_PEPPER of at least 32 bytes")],
)
def test_production_refuses_a_weak_pepper(pepper: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({"APP_ENV": "production", "CODE_PEPPER": pepper})
    assert Settings.from_env({"CODE_PEPPER": pepper}).code_pepper == pepper  # development: fine


def test_two_keyring_sources_refuse_to_start() -> None:
    with pytest.raises(SettingsError, match="KEYRING_FILE and KEYRING_SECRET_ARN are both set"):
        Settings.from_env({"KEYRING_FILE": "k.json",
                           "KEYRING_SECRET_ARN": ARN})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("VERIFY_CODE_LENGTH", "3"),
        ("VERIFY_CODE_LENGTH", "11"),
        ("VERIFY_MAX_CHECKS", "five"),
        ("VERIFY_CODE_TTL_SECONDS", "0"),
        ("TRUSTED_PROXIES", "10.0.0.0/33"),
        ("KEYRING_RELOAD_SECONDS", "61"),
        ("KEYRING_RELOAD_SECONDS", "0"),
        ("APP_ENV", "staging"),  # an unknown mode refuses to start rather than fall back
        ("VERIFY_SMS_PREFIX_LIMIT", "0"),
        ("VERIFY_SMS_PREFIX_WINDOW_SECONDS", "0"),
        ("VERIFY_PREFIX_GUARD_MIN_SMS", "0"),
        ("VERIFY_PREFIX_GUARD_MIN_SMS", "many"),
        ("VERIFY_PREFIX_GUARD_MIN_APPROVED_PERCENT", "-1"),
        ("VERIFY_PREFIX_GUARD_MIN_APPROVED_PERCENT", "101"),
        ("VERIFY_PREFIX_GUARD_MIN_APPROVED_PERCENT", "10.5"),
        ("VERIFY_PREFIX_GUARD_WINDOW_SECONDS", "0"),
        ("VERIFY_PREFIX_GUARD_WINDOW_SECONDS", "100"),  # not a multiple of 24
        ("VERIFY_PREFIX_GUARD_WINDOW_SECONDS", "86401"),
        ("VERIFY_PREFIX_GUARD_BLOCK_SECONDS", "0"),
        ("VERIFY_SMS_GLOBAL_LIMIT", "0"),
        ("VERIFY_SMS_GLOBAL_WINDOW_SECONDS", "-60"),
    ],
)
def test_invalid_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.max_sends = 1  # type: ignore[misc]
