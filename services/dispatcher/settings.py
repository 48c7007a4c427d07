"""Dispatcher settings: the shared ones of docs/api.md plus delivery's own, from the environment.

Own variables: DISPATCH_MAX_ATTEMPTS (5), DISPATCH_BACKOFF_BASE_SECONDS (1, doubling per attempt),
DISPATCH_BACKOFF_MAX_SECONDS (300), DISPATCH_DELIVERY_TIMEOUT_SECONDS (30), DISPATCH_METRICS_PORT
(unset: no /metrics), DISPATCH_CONSUMER_NAME (hostname-pid), SMS_BACKEND (devinbox|sns; sns in
production), DEVINBOX_URL, AWS_REGION, SMTP_HOST, SMTP_PORT, SMTP_FROM, SMTP_USERNAME,
SMTP_PASSWORD, SMTP_STARTTLS, SMTP_TIMEOUT_SECONDS.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from services.verification.settings import Settings, SettingsError, env_int

SMS_BACKENDS = ("devinbox", "sns")


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 1025
    sender: str = "Verify <no-reply@verify.localhost>"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class DispatcherSettings:
    shared: Settings
    consumer_name: str
    max_attempts: int = 5
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 300.0
    delivery_timeout_seconds: float = 30.0
    metrics_port: int | None = None
    sms_backend: str = "devinbox"
    devinbox_url: str = "http://127.0.0.1:8025"
    aws_region: str = "us-east-1"
    smtp: SmtpSettings = SmtpSettings()

    def backoff_seconds(self, deliveries: int) -> float:
        """How long a job that failed `deliveries` times waits before the next attempt."""
        exponent = min(max(deliveries - 1, 0), 32)
        return float(min(self.backoff_max_seconds, self.backoff_base_seconds * 2**exponent))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DispatcherSettings:
        env = os.environ if environ is None else environ
        shared = Settings.from_env(env)
        production = shared.app_env == "production"
        sms_backend = env.get("SMS_BACKEND", "").strip() or ("sns" if production else "devinbox")
        if sms_backend not in SMS_BACKENDS:
            raise SettingsError(f"SMS_BACKEND must be one of {', '.join(SMS_BACKENDS)}")
        metrics_port = env_int(env, "DISPATCH_METRICS_PORT", 0, low=0)
        return cls(
            shared=shared,
            consumer_name=env.get("DISPATCH_CONSUMER_NAME")
            or f"{socket.gethostname()}-{os.getpid()}",
            max_attempts=env_int(env, "DISPATCH_MAX_ATTEMPTS", 5, low=1),
            backoff_base_seconds=_seconds(env, "DISPATCH_BACKOFF_BASE_SECONDS", 1.0),
            backoff_max_seconds=_seconds(env, "DISPATCH_BACKOFF_MAX_SECONDS", 300.0),
            delivery_timeout_seconds=_seconds(env, "DISPATCH_DELIVERY_TIMEOUT_SECONDS", 30.0),
            metrics_port=metrics_port or None,
            sms_backend=sms_backend,
            devinbox_url=env.get("DEVINBOX_URL", "http://127.0.0.1:8025").rstrip("/"),
            aws_region=env.get("AWS_REGION", "us-east-1"),
            smtp=SmtpSettings(
                host=env.get("SMTP_HOST", SmtpSettings.host),
                port=env_int(env, "SMTP_PORT", SmtpSettings.port, low=1),
                sender=env.get("SMTP_FROM", SmtpSettings.sender),
                username=env.get("SMTP_USERNAME") or None,
                password=env.get("SMTP_PASSWORD") or None,
                starttls=_flag(env, "SMTP_STARTTLS"),
                timeout_seconds=_seconds(env, "SMTP_TIMEOUT_SECONDS", 10.0),
            ),
        )


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0 < value < 86400:
        raise SettingsError(f"{name} must be between 0 and 86400 seconds, got {value}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} must be true or false, got {raw!r}")
