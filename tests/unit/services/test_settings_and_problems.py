"""Settings from the environment; the problem table's exact words."""

from __future__ import annotations

import ipaddress

import pytest

from kit.settings import SettingsError
from services.verification.settings import DEVELOPMENT_PEPPER, Settings
from services.web.problems import PROBLEMS, problem_body, retry_after_seconds

PEPPER = "a-production-pepper-of-32-bytes-or-more"  # production asks for 32 bytes or more
ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:keyring"


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert (settings.code_length, settings.code_ttl_seconds, settings.max_sends,
            settings.max_checks, settings.dest_limit, settings.ip_limit,
            settings.max_body_bytes) == (6, 600, 5, 5, 10, 100, 16384)
    assert settings.code_pepper == DEVELOPMENT_PEPPER


def test_values_from_environment() -> None:
    settings = Settings.from_env({
        "APP_ENV": "production", "CODE_PEPPER": PEPPER, "VERIFY_CODE_LENGTH": "8",
        "TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1", "REDIS_URL": "redis://h:1/2",
        "VERIFY_RESEND_COOLDOWN_SECONDS": "0", "KEYRING_FILE": "/run/keyring.json",
        "KEYRING_RELOAD_SECONDS": "5",
    })
    assert settings.code_pepper == PEPPER
    assert (settings.keyring_file, settings.keyring_reload_seconds) == ("/run/keyring.json", 5)
    assert settings.code_length == 8
    assert settings.resend_cooldown_seconds == 0
    assert settings.redis_url == "redis://h:1/2"
    assert settings.trusted_proxies == (ipaddress.ip_network("10.0.0.0/8"),
                                        ipaddress.ip_network("192.168.1.1/32"))


@pytest.mark.parametrize(
    ("env", "message"),
    [({"APP_ENV": "production"}, "CODE_PEPPER"),
     ({"APP_ENV": "production", "CODE_PEPPER": DEVELOPMENT_PEPPER}, "requires CODE_PEPPER"),
     ({"APP_ENV": "production", "CODE_PEPPER": "x" * 31}, "CODE_PEPPER of at least 32 bytes"),
     ({"KEYRING_FILE": "k.json", "KEYRING_SECRET_ARN": ARN},
      "KEYRING_FILE and KEYRING_SECRET_ARN are both set"),
     ({"KEYRING_RELOAD_SECONDS": "61"}, "KEYRING_RELOAD_SECONDS"),
     ({"KEYRING_RELOAD_SECONDS": "0"}, "KEYRING_RELOAD_SECONDS"),
     ({"VERIFY_CODE_LENGTH": "3"}, "VERIFY_CODE_LENGTH"),
     ({"VERIFY_CODE_LENGTH": "11"}, "VERIFY_CODE_LENGTH"),
     ({"VERIFY_MAX_CHECKS": "five"}, "VERIFY_MAX_CHECKS"),
     ({"VERIFY_RESEND_COOLDOWN_SECONDS": "-1"}, "VERIFY_RESEND_COOLDOWN_SECONDS"),
     ({"TRUSTED_PROXIES": "10.0.0.0/33"}, "TRUSTED_PROXIES"),
     ({"VERIFY_SMS_PREFIX_LIMIT": "0"}, "VERIFY_SMS_PREFIX_LIMIT"),
     ({"VERIFY_SMS_PREFIX_WINDOW_SECONDS": "an hour"}, "VERIFY_SMS_PREFIX_WINDOW_SECONDS"),
     ({"VERIFY_PREFIX_GUARD_MIN_SMS": "-5"}, "VERIFY_PREFIX_GUARD_MIN_SMS"),
     ({"VERIFY_PREFIX_GUARD_MIN_APPROVED_PERCENT": "101"},
      "VERIFY_PREFIX_GUARD_MIN_APPROVED_PERCENT"),
     ({"VERIFY_PREFIX_GUARD_MIN_APPROVED_PERCENT": "-1"},
      "VERIFY_PREFIX_GUARD_MIN_APPROVED_PERCENT"),
     ({"VERIFY_PREFIX_GUARD_MIN_APPROVED_PERCENT": "7.5"},
      "VERIFY_PREFIX_GUARD_MIN_APPROVED_PERCENT"),
     ({"VERIFY_PREFIX_GUARD_WINDOW_SECONDS": "0"}, "VERIFY_PREFIX_GUARD_WINDOW_SECONDS"),
     ({"VERIFY_PREFIX_GUARD_WINDOW_SECONDS": "86401"},
      "VERIFY_PREFIX_GUARD_WINDOW_SECONDS='86401': must be a multiple of 24"),
     ({"VERIFY_PREFIX_GUARD_BLOCK_SECONDS": "0"}, "VERIFY_PREFIX_GUARD_BLOCK_SECONDS"),
     ({"VERIFY_SMS_GLOBAL_LIMIT": "1e3"}, "VERIFY_SMS_GLOBAL_LIMIT"),
     ({"VERIFY_SMS_GLOBAL_WINDOW_SECONDS": "0"}, "VERIFY_SMS_GLOBAL_WINDOW_SECONDS")],
)
def test_bad_settings(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_refusals_name_the_variable_the_value_and_what_it_must_be() -> None:
    with pytest.raises(SettingsError) as unknown_env:
        Settings.from_env({"APP_ENV": "staging"})
    assert str(unknown_env.value) == (
        "APP_ENV='staging': Input should be 'development' or 'production'")
    with pytest.raises(SettingsError) as too_long:
        Settings.from_env({"VERIFY_CODE_LENGTH": "11"})
    assert str(too_long.value) == (
        "VERIFY_CODE_LENGTH='11': Input should be less than or equal to 10")


def test_production_refuses_the_development_pepper_even_when_given() -> None:
    with pytest.raises(SettingsError, match="CODE_PEPPER"):
        Settings.from_env({"APP_ENV": "production", "CODE_PEPPER": DEVELOPMENT_PEPPER})


def test_guard_settings_from_environment() -> None:
    settings = Settings.from_env({
        "VERIFY_SMS_PREFIX_LIMIT": "7", "VERIFY_SMS_PREFIX_WINDOW_SECONDS": "60",
        "VERIFY_PREFIX_GUARD_MIN_SMS": "3", "VERIFY_PREFIX_GUARD_MIN_APPROVED_PERCENT": "0",
        "VERIFY_PREFIX_GUARD_WINDOW_SECONDS": "48", "VERIFY_PREFIX_GUARD_BLOCK_SECONDS": "5",
        "VERIFY_SMS_GLOBAL_LIMIT": "9", "VERIFY_SMS_GLOBAL_WINDOW_SECONDS": "2",
    })
    assert (settings.sms_prefix_limit, settings.sms_prefix_window_seconds,
            settings.prefix_guard_min_sms, settings.prefix_guard_min_approved_percent,
            settings.prefix_guard_window_seconds, settings.prefix_guard_block_seconds,
            settings.sms_global_limit, settings.sms_global_window_seconds) == (
        7, 60, 3, 0, 48, 5, 9, 2)
    assert Settings.from_env(
        {"VERIFY_PREFIX_GUARD_MIN_APPROVED_PERCENT": "100"}
    ).prefix_guard_min_approved_percent == 100


def test_blank_values_mean_unset() -> None:
    assert Settings.from_env({"VERIFY_MAX_SENDS": " ", "REDIS_URL": ""}) == Settings()


def test_keywords_build_settings_without_reading_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VERIFY_DEST_LIMIT", "2")
    assert Settings(dest_limit=3).dest_limit == 3
    assert Settings().dest_limit == 10
    assert Settings.from_env().dest_limit == 2
    with pytest.raises(SettingsError, match="dest_limt"):
        Settings(dest_limt=3)  # type: ignore[call-arg]  # mypy refuses the typo too


def test_the_pepper_stays_out_of_the_repr() -> None:
    assert "s3cret" not in repr(Settings(code_pepper="s3cret"))


def test_problem_words() -> None:
    assert problem_body("invalid_parameter", "to") == {
        "type": "urn:problem:verify:invalid_parameter", "title": "Invalid parameter",
        "status": 400, "detail": "The parameter 'to' is missing or invalid.",
        "code": "invalid_parameter", "field": "to"}
    assert list(problem_body("not_found")) == ["type", "title", "status", "detail", "code"]
    assert len(PROBLEMS) == 22  # with idempotency_key_in_use (cluster mode)
    assert problem_body("unauthorized") == {
        "type": "urn:problem:verify:unauthorized", "title": "Unauthorized", "status": 401,
        "detail": "A valid API key is required.", "code": "unauthorized"}
    assert problem_body("forbidden") == {
        "type": "urn:problem:verify:forbidden", "title": "Forbidden", "status": 403,
        "detail": "The API key does not allow this operation.", "code": "forbidden"}


def test_the_guards_problem_words() -> None:
    assert {code: tuple(PROBLEMS[code]) for code in (
        "prefix_rate_limited", "prefix_blocked", "sms_capacity_exceeded")} == {
        "prefix_rate_limited": (429, "Too many messages to this number range",
                                "Too many SMS were sent to numbers like this one; retry later."),
        "prefix_blocked": (429, "Number range paused", "SMS to numbers like this one are paused: "
                           "too few of their codes were entered."),
        "sms_capacity_exceeded": (429, "SMS capacity exceeded",
                                  "The service is sending too many SMS right now; retry later."),
    }


@pytest.mark.parametrize(("ms", "seconds"), [(0, 1), (1, 1), (999, 1), (1000, 1), (1001, 2),
                                             (29_999, 30), (600_000, 600)])
def test_retry_after_rounds_up(ms: int, seconds: int) -> None:
    assert retry_after_seconds(ms) == seconds
