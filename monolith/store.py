"""Verifications in Redis: the adapter that runs the contract's Lua scripts (one round trip each).

The Redis client is passed in by the caller; nothing here holds a connection.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from redis.commands.core import Script

from monolith import keys
from monolith.crypto import Keyring, generate_code, new_verification_id
from monolith.settings import Settings
from monolith.validation import CheckRequest, SendRequest

LUA_DIR = Path(__file__).resolve().parent / "lua"


@dataclass(frozen=True)
class Scripts:
    send: Script
    check: Script
    cancel: Script
    mark_verified: Script

    @classmethod
    def register(cls, client: redis.Redis) -> Scripts:
        def load(name: str) -> Script:
            return client.register_script((LUA_DIR / f"{name}.lua").read_text())

        return cls(load("send"), load("check"), load("cancel"), load("mark_verified"))


@dataclass(frozen=True)
class SendResult:
    outcome: str  # created, resent, replay, or a refusal code of docs/api.md
    retry_after_ms: int = 0
    status: int = 0  # HTTP status of a success (201/200), or the replayed one
    record: dict[str, Any] | None = None


@dataclass(frozen=True)
class CheckResult:
    outcome: str  # not_found, rate_limited, max_check_attempts_reached, approved, wrong
    verification_id: str = ""
    to: str = ""
    channel: str = ""
    status: str = ""
    check_attempts: int = 0
    retry_after_ms: int = 0


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def send(
    client: redis.Redis,
    scripts: Scripts,
    settings: Settings,
    keyring: Keyring,
    api_client: str,  # the authenticated client (g.client): the new verification's owner
    request: SendRequest,
    client_ip: str,
    idempotency: tuple[str, str] | None,  # (Idempotency-Key, request_hash)
) -> SendResult:
    new_id = new_verification_id()
    code = generate_code(settings.code_length)  # used only when this send creates a verification
    dest_hash = keyring.dest_hash(request.channel, request.to)
    idem_key = (
        keys.idempotency(keyring.idem_hash(api_client, idempotency[0])) if idempotency else ""
    )
    limited_ip = request.end_user_ip or client_ip
    # the SMS-pumping guards count SMS per number prefix; "" skips them for an email
    prefix_hash = keyring.prefix_hash(request.to) if request.channel == "sms" else ""
    guard_keys = (
        [keys.prefix_limit(prefix_hash), keys.tally(prefix_hash), keys.prefix_block(prefix_hash),
         keys.SMS_LIMIT]
        if prefix_hash else ["", "", "", ""]
    )
    reply = scripts.send(
        keys=[
            keys.pending(api_client, dest_hash),
            keys.pending_v1(dest_hash),
            keys.dest_limit(dest_hash),
            keys.client_limit(api_client),
            keys.ip_limit(keyring.ip_hash(limited_ip)),
            keys.failed_checks(api_client, dest_hash),
            idem_key,
            keys.record(new_id),
            keys.OUTBOX,
            *guard_keys,
        ],
        args=[
            keys.RECORD_PREFIX, new_id, keyring.code_mac(code),
            keyring.seal_code(new_id, code), request.to, request.channel, request.locale or "",
            dest_hash, idempotency[1] if idempotency else "",
            settings.code_ttl_seconds * 1000, settings.retention_seconds * 1000,
            settings.resend_cooldown_seconds * 1000, settings.max_sends,
            settings.dest_limit, settings.dest_window_seconds * 1000,
            settings.client_send_limit, settings.client_window_seconds * 1000,
            settings.ip_limit, settings.ip_window_seconds * 1000,
            settings.dest_failed_checks_per_day, settings.dest_failed_checks_window_seconds * 1000,
            settings.idempotency_ttl_seconds * 1000, keys.STREAM_TTL_MS, keys.OUTBOX_MAXLEN,
            api_client, request.reference or "",
            prefix_hash, settings.sms_prefix_limit, settings.sms_prefix_window_seconds * 1000,
            settings.prefix_guard_min_sms, settings.prefix_guard_min_approved_percent,
            settings.prefix_guard_window_seconds * 1000, settings.prefix_guard_bucket_ms,
            settings.prefix_guard_block_seconds * 1000, settings.sms_global_limit,
            settings.sms_global_window_seconds * 1000,
        ],
        client=client,
    )
    outcome, retry_ms, payload = _text(reply[0]), int(reply[1]), _text(reply[2])
    if outcome == "replay":
        stored = json.loads(payload)
        return SendResult(outcome, status=int(stored["status"]), record=stored["record"])
    if outcome in ("created", "resent"):
        status = 201 if outcome == "created" else 200
        return SendResult(outcome, status=status, record=json.loads(payload))
    return SendResult(outcome, retry_after_ms=retry_ms)


def check(
    client: redis.Redis, scripts: Scripts, settings: Settings, keyring: Keyring,
    api_client: str, request: CheckRequest,
) -> CheckResult:
    dest_hash = ""
    if request.verification_id is None:
        assert request.channel is not None and request.to is not None
        dest_hash = keyring.dest_hash(request.channel, request.to)
    reply = scripts.check(
        keys=[keys.EVENTS],
        args=[
            keys.RECORD_PREFIX, keys.PENDING_PREFIX, request.verification_id or "", dest_hash,
            keyring.code_mac(request.code), settings.max_checks,
            settings.retention_seconds * 1000, keys.STREAM_TTL_MS, keys.EVENTS_MAXLEN,
            api_client, keys.FAILED_CHECKS_PREFIX, settings.dest_failed_checks_per_day,
            settings.dest_failed_checks_window_seconds * 1000,
            keys.TALLY_PREFIX, settings.prefix_guard_window_seconds * 1000,
            settings.prefix_guard_bucket_ms,
        ],
        client=client,
    )
    return CheckResult(
        outcome=_text(reply[0]), verification_id=_text(reply[1]), to=_text(reply[2]),
        channel=_text(reply[3]), status=_text(reply[4]), check_attempts=int(reply[5]),
        retry_after_ms=int(reply[6]),
    )


def cancel(
    client: redis.Redis, scripts: Scripts, settings: Settings, api_client: str,
    verification_id: str,
) -> tuple[str, dict[str, str]]:
    """(outcome, record): outcome not_found (also another client's), not_pending or canceled
    (with the record)."""
    reply = scripts.cancel(
        keys=[keys.record(verification_id), keys.EVENTS],
        args=[
            keys.PENDING_PREFIX, settings.retention_seconds * 1000, keys.STREAM_TTL_MS,
            keys.EVENTS_MAXLEN, api_client,
        ],
        client=client,
    )
    flat = [_text(item) for item in reply[2]]
    return _text(reply[0]), dict(zip(flat[::2], flat[1::2], strict=True))


def read(
    client: redis.Redis, api_client: str, verification_id: str
) -> tuple[dict[str, str], int] | None:
    """The record and Redis' clock in ms, read in one round trip; None when there is none or it
    is another client's (a v1 record has no owner: any client may read it)."""
    pipe = client.pipeline(transaction=False)
    pipe.hgetall(keys.record(verification_id))
    pipe.time()
    raw, (seconds, micros) = pipe.execute()
    if not raw:
        return None
    record = {_text(k): _text(v) for k, v in raw.items()}
    if record.get("client", api_client) != api_client:
        return None
    return record, int(seconds) * 1000 + int(micros) // 1000
