"""Settings.from_env: defaults, parsing and the production pepper rule."""

from __future__ import annotations

import ipaddress

import pytest

from monolith.settings import DEVELOPMENT_PEPPER, Settings, SettingsError

PEPPER = "a-production-pepper-of-32-bytes-or-more"  # production asks for 32 bytes or more
ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:keyring"


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
            "KEYRING_RELOAD_SECONDS": "5",
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
        keyring_reload_seconds=5,
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
    ],
)
def test_invalid_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.max_sends = 1  # type: ignore[misc]
