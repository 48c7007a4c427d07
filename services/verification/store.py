"""The async Redis store: one EVALSHA per send, check and cancel; one pipeline per read.

The client is passed in (built by the web lifespan with decode_responses=True). Scripts are
registered with redis-py, which sends EVALSHA and falls back to SCRIPT LOAD only on NOSCRIPT
(after a Redis restart), so the steady state is one round trip per operation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from services.verification import keys
from services.verification.rendering import Snapshot, effective_status, snapshot_from_hash
from services.verification.settings import Settings

LUA_DIR = Path(__file__).parent / "lua"
SCRIPT_NAMES = ("send", "check", "cancel")


def load_script_sources() -> dict[str, str]:
    return {name: (LUA_DIR / f"{name}.lua").read_text("utf-8") for name in SCRIPT_NAMES}


@dataclass(frozen=True)
class NewSend:
    """A send as the script needs it; every hash already computed by the caller."""

    verification_id: str
    code_mac: str
    code_sealed: str
    to: str
    channel: str
    locale: str
    dest_hash: str
    ip_hash: str
    idem_hash: str | None
    request_hash: str


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


class VerificationStore:
    def __init__(self, client: Redis, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.scripts = {
            name: client.register_script(source) for name, source in load_script_sources().items()
        }

    async def load_scripts(self) -> None:
        """Put the scripts in Redis' cache ahead of the first request (an optimisation only)."""
        for script in self.scripts.values():
            await self.client.script_load(script.script)

    async def send(self, new: NewSend) -> SendResult:
        s = self.settings
        script_keys = [
            keys.pending_key(new.dest_hash),
            keys.dest_limit_key(new.dest_hash),
            keys.ip_limit_key(new.ip_hash),
            keys.idempotency_key(new.idem_hash) if new.idem_hash else "",
            keys.record_key(new.verification_id),
            keys.OUTBOX_STREAM,
        ]
        args: list[Any] = [
            new.verification_id, new.code_mac, new.code_sealed, new.to, new.channel, new.locale,
            new.dest_hash, new.request_hash if new.idem_hash else "",
            s.code_ttl_seconds * 1000, s.retention_seconds * 1000,
            s.resend_cooldown_seconds * 1000, s.max_sends,
            s.dest_limit, s.dest_window_seconds * 1000, s.ip_limit, s.ip_window_seconds * 1000,
            s.idempotency_ttl_seconds * 1000, keys.RECORD_PREFIX, keys.OUTBOX_MAXLEN,
            keys.STREAM_TTL_MS, keys.CONTRACT_VERSION,
        ]
        outcome, payload, retry_ms = await self.scripts["send"](keys=script_keys, args=args)
        if outcome == "replay":
            stored = json.loads(payload)
            return SendResult(outcome, int(stored["status"]), stored["record"], 0)
        if outcome in ("created", "resent"):
            status = 201 if outcome == "created" else 200
            return SendResult(outcome, status, json.loads(payload), 0)
        return SendResult(outcome, 0, None, int(retry_ms))

    async def check(
        self, code_mac: str, *, verification_id: str = "", dest_hash: str = ""
    ) -> CheckResult:
        if verification_id:
            mode, first_key = "id", keys.record_key(verification_id)
        else:
            mode, first_key = "to", keys.pending_key(dest_hash)
        s = self.settings
        reply = await self.scripts["check"](
            keys=[first_key, keys.EVENTS_STREAM],
            args=[mode, code_mac, s.max_checks, s.retention_seconds * 1000, keys.RECORD_PREFIX,
                  keys.PENDING_PREFIX, keys.EVENTS_MAXLEN, keys.STREAM_TTL_MS, keys.EVENT_SCHEMA],
        )
        if len(reply) == 1:
            return CheckResult(reply[0])
        outcome, found_id, to, channel, status, attempts, *retry = reply
        retry_ms = int(retry[0]) if retry else 0
        return CheckResult(outcome, found_id, to, channel, status, int(attempts), retry_ms)

    async def cancel(self, verification_id: str) -> tuple[str, Snapshot | None]:
        outcome, payload = await self.scripts["cancel"](
            keys=[keys.record_key(verification_id), keys.EVENTS_STREAM],
            args=[self.settings.retention_seconds * 1000, keys.PENDING_PREFIX,
                  keys.EVENTS_MAXLEN, keys.STREAM_TTL_MS, keys.EVENT_SCHEMA],
        )
        return outcome, (json.loads(payload) if payload else None)

    async def read(self, verification_id: str) -> tuple[Snapshot, str] | None:
        """The snapshot and its status as of Redis' clock; None when there is no record."""
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(keys.record_key(verification_id))
        pipe.time()
        fields, (seconds, micros) = await pipe.execute()
        if not fields:
            return None
        snapshot = snapshot_from_hash(fields)
        return snapshot, effective_status(snapshot, seconds * 1000 + micros // 1000)

    async def ping(self) -> bool:
        return bool(await self.client.ping())
