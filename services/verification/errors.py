"""Domain errors. Each carries the stable problem `code` of docs/api.md; the web edge renders it."""

from __future__ import annotations


class VerificationError(Exception):
    code = "internal_error"
    field: str | None = None  # the request member a problem names, when it names one

    def __init__(self, retry_after_ms: int | None = None) -> None:
        super().__init__(self.code)
        self.retry_after_ms = retry_after_ms


class InvalidParameter(VerificationError):
    code = "invalid_parameter"
    field: str

    def __init__(self, field: str) -> None:
        super().__init__()
        self.field = field


class UnsupportedNumberType(VerificationError):
    code = "unsupported_number_type"
    field = "to"


class GeoNotPermitted(VerificationError):
    code = "geo_not_permitted"
    field = "to"


class NotFound(VerificationError):
    code = "not_found"


class NotPending(VerificationError):
    code = "not_pending"


class IdempotencyKeyReused(VerificationError):
    code = "idempotency_key_reused"


class IdempotencyKeyInUse(VerificationError):
    """Cluster mode only: another request holds this Idempotency-Key's claim."""

    code = "idempotency_key_in_use"


class ResendCooldown(VerificationError):
    code = "resend_cooldown"


class MaxSendAttemptsReached(VerificationError):
    code = "max_send_attempts_reached"


class RateLimited(VerificationError):
    code = "rate_limited"


class MaxCheckAttemptsReached(VerificationError):
    code = "max_check_attempts_reached"


class PrefixBlocked(VerificationError):
    code = "prefix_blocked"


class PrefixRateLimited(VerificationError):
    code = "prefix_rate_limited"


class SmsCapacityExceeded(VerificationError):
    code = "sms_capacity_exceeded"


# Script outcomes that refuse a send, by the outcome name the Lua script returns.
SEND_REFUSALS: dict[str, type[VerificationError]] = {
    "idempotency_key_reused": IdempotencyKeyReused,
    "idempotency_key_in_use": IdempotencyKeyInUse,
    "max_send_attempts_reached": MaxSendAttemptsReached,
    "resend_cooldown": ResendCooldown,
    "rate_limited": RateLimited,
    "max_check_attempts_reached": MaxCheckAttemptsReached,
    "prefix_blocked": PrefixBlocked,
    "prefix_rate_limited": PrefixRateLimited,
    "sms_capacity_exceeded": SmsCapacityExceeded,
}
