"""The bench's environment is a valid configuration of the services that lifts the SMS-pumping
guards: its workloads send thousands of SMS a second to a few thousand number prefixes."""

from __future__ import annotations

from bench.targets import PROFILE
from services.verification.settings import Settings

# Far more than a whole bench run sends (minutes at a few thousand SMS a second).
BENCH_RUN_SMS = 100_000_000


def test_the_profile_lifts_the_sms_pumping_guards() -> None:
    settings = Settings.from_env(PROFILE)
    assert settings.sms_prefix_limit >= BENCH_RUN_SMS
    assert settings.prefix_guard_min_sms >= BENCH_RUN_SMS  # never judged: no prefix is blocked
    assert settings.sms_global_limit >= BENCH_RUN_SMS


def test_the_profile_lets_every_check_take_the_full_path() -> None:
    """The check workload posts wrong codes to 1,000 verifications for minutes: no verification
    may reach its attempts limit, no destination its failed-checks limit."""
    settings = Settings.from_env(PROFILE)
    assert settings.max_checks >= BENCH_RUN_SMS // 1000
    assert settings.dest_failed_checks_per_day >= BENCH_RUN_SMS // 1000
