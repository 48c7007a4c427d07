"""The async Redis store: one EVALSHA per send, check and cancel; one pipeline per read.

The client is passed in (built by the web lifespan with decode_responses=True). Scripts run by
EVALSHA, falling back to SCRIPT LOAD only on NOSCRIPT (after a Redis restart), so the steady
state is one round trip per operation (scripts.py runs them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from services.verification import keys, redis_client
from services.verification.redis_gate import RedisGate
from services.verification.rendering import Snapshot, effective_status, snapshot_from_hash
from services.verification.scripts import Scripts
from services.verification.settings import Settings


@dataclass(frozen=True)
class NewSend:
    """A send as the script needs it; every hash already computed by the caller."""

    verification_id: str
    code_mac: str
    code_sealed: str
    to: str
    channel: str
    locale: str
    reference: str  # "" for none
    client: str  # the owner: the authenticated caller
    dest_hash: str
    ip_hash: str
    prefix_hash: str  # the SMS-pumping guards' hash of an SMS's number prefix; "" for an email
    idem_hash: str | None
    request_hash: str  # "" without an idempotency key (only the idempotency record stores it)


@dataclass(frozen=True)
class SendResult:
    outcome: str
    http_status: int  # 201 or 200; for a replay, the stored status
    snapshot: Snapshot | None
    retry_after_ms: int


@dataclass(frozen=True)
class CheckResult:
    outcome: str
    verification_id: str = ""
    to: str = ""
    channel: str = ""
    status: str = ""
    check_attempts: int = 0
    retry_after_ms: int = 0


def _wire(value: int | str) -> bytes:
    """What redis-py would send for `value` (ints as decimal, text as UTF-8), done once."""
    return str(value).encode()


class VerificationStore:
    def __init__(self, client: Redis, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        # As many calls at once as the pool has connections (see redis_gate.py).
        self.gate = RedisGate(redis_client.max_connections(client))
        self.scripts = Scripts(client, self.gate)
        # Script arguments that only depend on settings, built once and already in wire form
        # (ARGV 11-27 and 29-39 of send.lua, 3-9 and 11-17 of check.lua, 1-5 of cancel.lua).
        failed_checks_window_ms = settings.dest_failed_checks_window_seconds * 1000
        guard_window_ms = settings.prefix_guard_window_seconds * 1000
        bucket_ms = keys.tally_bucket_ms(settings.prefix_guard_window_seconds)
        self.send_tail: list[bytes] = [_wire(value) for value in (
            settings.code_ttl_seconds * 1000, settings.retention_seconds * 1000,
            settings.resend_cooldown_seconds * 1000, settings.max_sends,
            settings.dest_limit, settings.dest_window_seconds * 1000,
            settings.ip_limit, settings.ip_window_seconds * 1000,
            settings.idempotency_ttl_seconds * 1000, keys.RECORD_PREFIX, keys.OUTBOX_MAXLEN,
            keys.STREAM_TTL_MS, keys.CONTRACT_VERSION,
            settings.dest_failed_checks_per_day, failed_checks_window_ms,
            settings.client_send_limit, settings.client_window_seconds * 1000,
        )]
        self.send_guards: list[bytes] = [_wire(value) for value in (
            settings.sms_prefix_limit, settings.sms_prefix_window_seconds * 1000,
            settings.prefix_guard_min_sms, settings.prefix_guard_min_approved_percent,
            guard_window_ms, bucket_ms, keys.TALLY_BUCKETS, keys.TALLY_SENT_FIELD_PREFIX,
            settings.prefix_guard_block_seconds * 1000,
            settings.sms_global_limit, settings.sms_global_window_seconds * 1000,
        )]
        self.check_head: list[bytes] = [_wire(value) for value in (
            settings.max_checks, settings.retention_seconds * 1000, keys.RECORD_PREFIX,
            keys.PENDING_PREFIX, keys.EVENTS_MAXLEN, keys.STREAM_TTL_MS, keys.EVENT_SCHEMA,
        )]
        self.check_tail: list[bytes] = [_wire(value) for value in (
            keys.FAILED_CHECKS_PREFIX, settings.dest_failed_checks_per_day,
            failed_checks_window_ms, keys.TALLY_PREFIX, keys.TALLY_APPROVED_FIELD_PREFIX,
            bucket_ms, guard_window_ms,
        )]
        self.cancel_args: list[bytes] = [_wire(value) for value in (
            settings.retention_seconds * 1000, keys.PENDING_PREFIX,
            keys.EVENTS_MAXLEN, keys.STREAM_TTL_MS, keys.EVENT_SCHEMA,
        )]

    async def load_scripts(self) -> None:
        await self.scripts.load()

    async def send(self, new: NewSend) -> SendResult:
        script_keys = [
            keys.pending_key(new.client, new.dest_hash),
            keys.v1_pending_key(new.dest_hash),
            keys.dest_limit_key(new.dest_hash),
            keys.ip_limit_key(new.ip_hash),
            keys.idempotency_key(new.idem_hash) if new.idem_hash else "",
            keys.record_key(new.verification_id),
            keys.OUTBOX_STREAM,
            keys.failed_checks_key(new.client, new.dest_hash),
            keys.client_limit_key(new.client),
            *self._guard_keys(new.prefix_hash),
        ]
        args: list[Any] = [
            new.verification_id, new.code_mac, new.code_sealed, new.to, new.channel, new.locale,
            new.dest_hash, new.request_hash if new.idem_hash else "", new.client, new.reference,
            *self.send_tail, new.prefix_hash, *self.send_guards,
        ]
        outcome, payload, retry_ms = await self.scripts.run("send", script_keys, args)
        if outcome == "replay":
            stored = json.loads(payload)
            return SendResult(outcome, int(stored["status"]), stored["record"], 0)
        if outcome in ("created", "resent"):
            status = 201 if outcome == "created" else 200
            return SendResult(outcome, status, json.loads(payload), 0)
        return SendResult(outcome, 0, None, int(retry_ms))

    @staticmethod
    def _guard_keys(prefix_hash: str) -> list[str]:
        """KEYS 10-13 of send.lua: the SMS-pumping guards' keys, all "" for an email."""
        if not prefix_hash:
            return ["", "", "", ""]
        return [keys.prefix_limit_key(prefix_hash), keys.SMS_LIMIT_KEY,
                keys.tally_key(prefix_hash), keys.block_key(prefix_hash)]

    async def check(
        self, code_mac: str, client: str, *, verification_id: str = "", dest_hash: str = ""
    ) -> CheckResult:
        """Check as `client`: its own verification, or a v1 one (which belongs to no one)."""
        if verification_id:
            script_keys = [keys.record_key(verification_id), "", keys.EVENTS_STREAM]
            mode = "id"
        else:
            script_keys = [keys.pending_key(client, dest_hash), keys.v1_pending_key(dest_hash),
                           keys.EVENTS_STREAM]
            mode = "to"
        reply = await self.scripts.run(
            "check", script_keys, [mode, code_mac, *self.check_head, client, *self.check_tail]
        )
        if len(reply) == 1:
            return CheckResult(reply[0])
        outcome, found_id, to, channel, status, attempts, *retry = reply
        retry_ms = int(retry[0]) if retry else 0
        return CheckResult(outcome, found_id, to, channel, status, int(attempts), retry_ms)

    async def cancel(self, verification_id: str, client: str) -> tuple[str, Snapshot | None]:
        outcome, payload = await self.scripts.run(
            "cancel", [keys.record_key(verification_id), keys.EVENTS_STREAM],
            [*self.cancel_args, client],
        )
        return outcome, (json.loads(payload) if payload else None)

    async def read(self, verification_id: str, client: str) -> tuple[Snapshot, str] | None:
        """The snapshot and its status as of Redis' clock; None when there is no record or it
        is another client's (a v1 record, without `client`, is anyone's)."""
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(keys.record_key(verification_id))
        pipe.time()
        fields, (seconds, micros) = await self.gate.call(pipe.execute)
        if not fields or fields.get("client", "") not in ("", client):
            return None
        snapshot = snapshot_from_hash(fields)
        return snapshot, effective_status(snapshot, seconds * 1000 + micros // 1000)

    async def ping(self) -> bool:
        return bool(await self.gate.call(self.client.ping))
