from __future__ import annotations

import pytest

from kit.settings import SettingsError
from services.dispatcher.__main__ import main as dispatcher_main
from services.dispatcher.settings import DispatcherSettings

PEPPER = "a-production-pepper-of-32-bytes-or-more"  # production asks for 32 bytes


def test_defaults_outside_production() -> None:
    settings = DispatcherSettings.from_env({})
    assert settings.max_attempts == 5
    assert settings.backoff_base_seconds == 1.0
    assert settings.sms_backend == "devinbox"
    assert settings.devinbox_url == "http://127.0.0.1:8025"
    assert settings.smtp.port == 1025 and settings.smtp.starttls is False
    assert settings.metrics_port is None
    host, _, pid = settings.consumer_name.rpartition("-")
    assert host and pid.isdigit()


def test_production_needs_a_pepper_and_defaults_to_sns() -> None:
    with pytest.raises(SettingsError, match="CODE_PEPPER"):
        DispatcherSettings.from_env({"APP_ENV": "production"})
    settings = DispatcherSettings.from_env({"APP_ENV": "production", "CODE_PEPPER": PEPPER})
    assert settings.sms_backend == "sns"
    assert settings.shared.code_pepper == PEPPER


def test_backoff_doubles_and_is_capped() -> None:
    settings = DispatcherSettings.from_env(
        {"DISPATCH_BACKOFF_BASE_SECONDS": "0.5", "DISPATCH_BACKOFF_MAX_SECONDS": "3"}
    )
    assert [settings.backoff_seconds(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert settings.backoff_seconds(10_000) == 3.0


def test_smtp_settings_from_env() -> None:
    settings = DispatcherSettings.from_env({
        "SMTP_HOST": "email-smtp.eu-west-1.amazonaws.com", "SMTP_PORT": "587",
        "SMTP_FROM": "Verify <v@example.com>", "SMTP_USERNAME": "AKIA", "SMTP_PASSWORD": "pw",
        "SMTP_STARTTLS": "true",
    })
    assert settings.smtp.host == "email-smtp.eu-west-1.amazonaws.com"
    assert (settings.smtp.port, settings.smtp.starttls) == (587, True)
    assert (settings.smtp.username, settings.smtp.password) == ("AKIA", "pw")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SMS_BACKEND", "carrier-pigeon"),
        ("DISPATCH_MAX_ATTEMPTS", "0"),
        ("DISPATCH_MAX_ATTEMPTS", "five"),
        ("DISPATCH_BACKOFF_BASE_SECONDS", "-1"),
        ("SMTP_PORT", "x"),
        ("SMTP_STARTTLS", "maybe"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        DispatcherSettings.from_env({name: value})


def test_an_explicit_backend_wins_over_the_production_default_and_urls_lose_a_trailing_slash(
) -> None:
    settings = DispatcherSettings.from_env({
        "APP_ENV": "production", "CODE_PEPPER": PEPPER, "SMS_BACKEND": "devinbox",
        "DEVINBOX_URL": "http://inbox:8025/",
    })
    assert (settings.sms_backend, settings.devinbox_url) == ("devinbox", "http://inbox:8025")


def test_a_bad_setting_stops_the_dispatcher_before_it_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("APP_ENV", "staging")
    assert dispatcher_main() == 2
    assert "APP_ENV='staging'" in capsys.readouterr().err
