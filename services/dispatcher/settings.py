"""Dispatcher settings: the shared ones of docs/api.md (`shared`) plus delivery's own."""

from __future__ import annotations

import os
import socket
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from kit.settings import Count, EnvSettings, Seconds, env_var
from services.verification.settings import Settings

SmsBackend = Literal["devinbox", "sns"]


def _consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def _sms_backend_for(fields: dict[str, Any]) -> SmsBackend:
    shared: Settings = fields["shared"]
    return "sns" if shared.app_env == "production" else "devinbox"


class SmtpSettings(EnvSettings):
    host: Annotated[str, env_var("SMTP_HOST")] = "127.0.0.1"
    port: Annotated[Count, env_var("SMTP_PORT")] = 1025
    sender: Annotated[str, env_var("SMTP_FROM")] = "Verify <no-reply@verify.localhost>"
    username: Annotated[str | None, env_var("SMTP_USERNAME")] = None
    password: Annotated[str | None, env_var("SMTP_PASSWORD", repr=False)] = None
    starttls: Annotated[bool, env_var("SMTP_STARTTLS")] = False
    timeout_seconds: Annotated[Seconds, env_var("SMTP_TIMEOUT_SECONDS")] = 10.0
    # Mails sent at once, each on a session kept open for the next one.
    max_connections: Annotated[Count, env_var("SMTP_MAX_CONNECTIONS")] = 4


class DispatcherSettings(EnvSettings):
    shared: Settings = Field(default_factory=lambda: Settings())
    consumer_name: str = Field(
        default_factory=_consumer_name, validation_alias="DISPATCH_CONSUMER_NAME"
    )
    max_attempts: Annotated[Count, env_var("DISPATCH_MAX_ATTEMPTS")] = 5
    # Deliveries one process runs at once; also the most new jobs it reads per stream at a time.
    max_in_flight: Annotated[Count, env_var("DISPATCH_MAX_IN_FLIGHT")] = 32
    # The first retry waits this long, each next one twice as long, up to the maximum.
    backoff_base_seconds: Annotated[Seconds, env_var("DISPATCH_BACKOFF_BASE_SECONDS")] = 1.0
    backoff_max_seconds: Annotated[Seconds, env_var("DISPATCH_BACKOFF_MAX_SECONDS")] = 300.0
    delivery_timeout_seconds: Annotated[
        Seconds, env_var("DISPATCH_DELIVERY_TIMEOUT_SECONDS")
    ] = 30.0
    # Unset (or 0): no /metrics.
    metrics_port: Annotated[int | None, env_var("DISPATCH_METRICS_PORT", ge=0, le=65535)] = None
    # Unset: sns in production, the dev inbox elsewhere.
    sms_backend: SmsBackend = Field(
        default_factory=_sms_backend_for, validation_alias="SMS_BACKEND"
    )
    devinbox_url: Annotated[
        str, env_var("DEVINBOX_URL"), AfterValidator(lambda url: url.rstrip("/"))
    ] = "http://127.0.0.1:8025"
    aws_region: Annotated[str, env_var("AWS_REGION")] = "us-east-1"
    smtp: SmtpSettings = Field(default_factory=lambda: SmtpSettings())

    def backoff_seconds(self, deliveries: int) -> float:
        """How long a job that failed `deliveries` times waits before the next attempt."""
        exponent = min(max(deliveries - 1, 0), 32)
        return float(min(self.backoff_max_seconds, self.backoff_base_seconds * 2**exponent))
