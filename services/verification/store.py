"""The async Redis store: one EVALSHA per send, check and cancel; one per read.

The client is passed in (built by the web lifespan with decode_responses=True): a Redis on a
single node, a RedisCluster when `settings.redis_cluster`. Scripts run by EVALSHA, falling back
to SCRIPT LOAD only on NOSCRIPT (after a Redis restart), so the steady state on a single node is
one round trip per operation (scripts.py runs them). In cluster mode a send also reserves the
counters outside its slot first, concurrently, and refunds them after a refusal (storage
contract "Cluster mode"); a check of an SMS approval tallies it with a one-key script.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from services.verification import codes, crypto, keys, packed, redis_client
from services.verification.redis_gate import RedisGate
from services.verification.rendering import Snapshot, effective_status, snapshot_from_hash
from services.verification.resp import wire
from services.verification.scripts import Scripts, Tail
from services.verification.settings import Settings

log = logging.getLogger("services.verification")

RedisClient = Redis | RedisCluster
# The claim marker's answer: another request with this Idempotency-Key is running.
IN_PROGRESS_RETRY_MS = 1000


@dataclass(frozen=True)
class NewSend:
    """A send as the script needs it; every hash already computed by the caller."""

    verification_id: str  # in the store's write version's form (VerificationStore.new_id)
    code_mac: str  # version 3: code_mac16; version 2: code_mac
    code_sealed: str  # version 3: seal_code_v3; version 2: seal_code
    to: str
    channel: str
    locale: str
    reference: str  # "" for none
    client: str  # the owner: the authenticated caller
    dest_hash: str
    dest_key: str
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


@dataclass(frozen=True)
class Reservation:
    """A counter counted by a cluster-mode reserve, to give back if the send is refused."""

    script: str  # the refund script
    key: str
    args: tuple[str, ...] = ()


def _loads(text: str) -> Any:
    """A script's JSON reply: by orjson, or the standard library for what orjson refuses."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _wires(*values: int | str) -> list[bytes]:
    """What redis-py would send for each value, worked out once."""
    return [wire(value) for value in values]



class VerificationStore:
    def __init__(self, client: RedisClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.cluster = settings.redis_cluster
        # Version-2 data exists only on a single node: there the scripts also read (and judge)
        # it, and counters are counted inline.
        self.mode = b"cluster" if self.cluster else b"inline"
        # No version-2 data can exist in a cluster: it always creates version 3.
        self.write_version = 3 if self.cluster else settings.storage_write_version
        # As many calls at once as the pool has connections (see redis_gate.py).
        self.gate = RedisGate(redis_client.max_connections(client))
        self.scripts = Scripts(client, self.gate)
        # Script arguments that only depend on settings, built once and already packed
        # (ARGV 17-46 of send.lua, 8-23 of check.lua, 5-11 of cancel.lua).
        failed_window_ms = settings.dest_failed_checks_window_seconds * 1000
        self.guard_window_ms = settings.prefix_guard_window_seconds * 1000
        self.bucket_ms = keys.tally_bucket_ms(settings.prefix_guard_window_seconds)
        retention_ms = settings.retention_seconds * 1000
        self.send_tail = Tail.of((
            settings.code_ttl_seconds * 1000, retention_ms,
            settings.resend_cooldown_seconds * 1000, settings.max_sends,
            settings.dest_limit, settings.dest_window_seconds * 1000,
            settings.ip_limit, settings.ip_window_seconds * 1000,
            settings.idempotency_ttl_seconds * 1000, keys.RECORD_PREFIX, keys.OUTBOX_MAXLEN,
            keys.V3_STREAM_MAXLEN, keys.STREAM_TTL_MS, keys.V2_RECORD_VERSION,
            settings.dest_failed_checks_per_day, failed_window_ms,
            settings.client_send_limit, settings.client_window_seconds * 1000,
            settings.sms_prefix_limit, settings.sms_prefix_window_seconds * 1000,
            settings.prefix_guard_min_sms, settings.prefix_guard_min_approved_percent,
            self.guard_window_ms, self.bucket_ms, keys.TALLY_BUCKETS,
            keys.TALLY_SENT_FIELD_PREFIX, settings.prefix_guard_block_seconds * 1000,
            settings.sms_global_limit, settings.sms_global_window_seconds * 1000,
            keys.TALLY_BLOCK_FIELD,
        ))
        self.check_tail = Tail.of((
            settings.max_checks, retention_ms, keys.V3_STREAM_MAXLEN, keys.EVENTS_MAXLEN,
            keys.STREAM_TTL_MS, settings.dest_failed_checks_per_day, failed_window_ms,
            keys.RECORD_PREFIX, keys.PENDING_PREFIX, keys.FAILED_CHECKS_PREFIX,
            keys.TALLY_PREFIX, keys.TALLY_APPROVED_FIELD_PREFIX, self.bucket_ms,
            self.guard_window_ms, keys.V3_EVENT_SCHEMA, keys.EVENT_SCHEMA,
        ))
        self.cancel_tail = Tail.of((
            retention_ms, keys.V3_STREAM_MAXLEN, keys.EVENTS_MAXLEN, keys.STREAM_TTL_MS,
            keys.PENDING_PREFIX, keys.V3_EVENT_SCHEMA, keys.EVENT_SCHEMA,
        ))
        self.tally_reserve_args = _wires(
            settings.prefix_guard_min_sms, settings.prefix_guard_min_approved_percent,
            self.guard_window_ms, self.bucket_ms, keys.TALLY_BUCKETS,
            keys.TALLY_SENT_FIELD_PREFIX, settings.prefix_guard_block_seconds * 1000,
            keys.TALLY_BLOCK_FIELD,
        )

    async def load_scripts(self) -> None:
        await self.scripts.load()

    def new_id(self, dest_key: str) -> str:
        """A new verification's id in the write version's form."""
        if self.write_version == 3:
            return codes.new_v3_verification_id(dest_key)
        return codes.new_v2_verification_id()

    # send

    async def send(self, new: NewSend) -> SendResult:
        if self.cluster:
            return await self._send_in_cluster(new)
        outcome, payload, retry_ms = await self._run_send(new, self._inline_send_keys(new))
        return self._send_result(outcome, payload, retry_ms)

    def _slot_keys(self, client: str, dest_key: str) -> list[str]:
        """KEYS 1-4 of send.lua: the destination's own slot."""
        return [keys.v3_record_key(client, dest_key), keys.v3_retained_key(client, dest_key),
                keys.v3_failed_checks_key(client, dest_key),
                keys.v3_outbox_stream(keys.bucket_of(dest_key))]

    def _inline_send_keys(self, new: NewSend) -> list[str]:
        script_keys = [
            *self._slot_keys(new.client, new.dest_key),
            keys.pending_key(new.client, new.dest_hash),
            keys.failed_checks_key(new.client, new.dest_hash), keys.OUTBOX_STREAM,
            keys.dest_limit_key(new.dest_hash), keys.client_limit_key(new.client),
            keys.ip_limit_key(new.ip_hash),
        ]
        if new.prefix_hash:
            script_keys += [keys.prefix_limit_key(new.prefix_hash), keys.SMS_LIMIT_KEY,
                            keys.tally_key(new.prefix_hash), keys.block_key(new.prefix_hash)]
        if new.idem_hash:
            script_keys.append(keys.idempotency_key(new.idem_hash))
        if self.write_version == 2:
            script_keys.append(keys.record_key(new.verification_id))
        return script_keys

    async def _run_send(
        self, new: NewSend, script_keys: list[str], full: tuple[str, int] = ("", 0)
    ) -> tuple[str, str, int]:
        args: list[Any] = [
            self.mode, self.write_version, full[0], full[1], new.verification_id, new.code_mac,
            new.code_sealed, new.to, new.channel, new.locale, new.reference, new.client,
            new.dest_hash, new.dest_key, new.prefix_hash,
            new.request_hash if new.idem_hash else "",
        ]
        outcome, payload, retry_ms = await self.scripts.run(
            "send", script_keys, args, self.send_tail)
        return str(outcome), str(payload), int(retry_ms)

    @staticmethod
    def _send_result(outcome: str, payload: str, retry_ms: int) -> SendResult:
        if outcome == "replay":
            stored = _loads(payload)
            return SendResult(outcome, int(stored["status"]), stored["record"], 0)
        if outcome in ("created", "resent"):
            status = 201 if outcome == "created" else 200
            return SendResult(outcome, status, _loads(payload), 0)
        return SendResult(outcome, 0, None, retry_ms)

    async def _send_in_cluster(self, new: NewSend) -> SendResult:
        idem_key = keys.idempotency_key(new.idem_hash) if new.idem_hash else None
        if idem_key is not None:
            claim, stored = await self.scripts.run(
                "idem_claim", [idem_key], [new.request_hash, keys.IDEMPOTENCY_CLAIM_TTL_MS])
            if claim == "replay":
                return self._send_result("replay", str(stored), 0)
            if claim == "in_progress":
                return SendResult("idempotency_key_in_use", 0, None, IN_PROGRESS_RETRY_MS)
            if claim == "idempotency_key_reused":
                return SendResult(claim, 0, None, 0)
        result, reservations = await self._reserve_and_send(new, idem_key)
        if result.outcome == "resent":
            # A resend is not a new verification: the tally's count goes back.
            await self._refund([r for r in reservations if r.script == "refund_tally"])
        elif result.outcome != "created":
            await self._refund(reservations)
        if idem_key is not None:
            if result.snapshot is not None:
                stored_json = json.dumps({"request_hash": new.request_hash,
                                          "status": result.http_status, "record": result.snapshot})
                ttl_ms = self.settings.idempotency_ttl_seconds * 1000
                await self.gate.call(lambda: self.client.set(idem_key, stored_json, px=ttl_ms))
            else:
                await self._release_claim(idem_key)
        return result

    def _reserves(self, new: NewSend) -> list[tuple[str, str, list[Any], str]]:
        """(script, key, args, the outcome when full) in version 2's order of judging."""
        s = self.settings
        reserves: list[tuple[str, str, list[Any], str]] = [
            ("reserve", keys.dest_limit_key(new.dest_hash),
             [s.dest_limit, s.dest_window_seconds * 1000], "rate_limited"),
            ("reserve", keys.client_limit_key(new.client),
             [s.client_send_limit, s.client_window_seconds * 1000], "rate_limited"),
            ("reserve", keys.ip_limit_key(new.ip_hash),
             [s.ip_limit, s.ip_window_seconds * 1000], "rate_limited"),
        ]
        if new.prefix_hash:
            reserves += [
                ("reserve_tally", keys.tally_key(new.prefix_hash), self.tally_reserve_args,
                 "prefix_blocked"),
                ("reserve", keys.prefix_limit_key(new.prefix_hash),
                 [s.sms_prefix_limit, s.sms_prefix_window_seconds * 1000],
                 "prefix_rate_limited"),
                ("reserve", keys.SMS_LIMIT_KEY,
                 [s.sms_global_limit, s.sms_global_window_seconds * 1000],
                 "sms_capacity_exceeded"),
            ]
        return reserves

    async def _reserve_and_send(
        self, new: NewSend, idem_key: str | None
    ) -> tuple[SendResult, list[Reservation]]:
        reserves = self._reserves(new)
        answers = await asyncio.gather(
            *(self.scripts.run(script, [key], args) for script, key, args, _ in reserves),
            return_exceptions=True,
        )
        reservations: list[Reservation] = []
        full: tuple[str, int] | None = None
        failure: BaseException | None = None
        for (script, key, _, outcome), answer in zip(reserves, answers, strict=True):
            if isinstance(answer, BaseException):
                failure = failure or answer
                continue
            state, detail = answer
            if state == "reserved":
                if script == "reserve_tally":
                    reservations.append(Reservation("refund_tally", key, (str(detail),)))
                else:
                    reservations.append(Reservation("refund", key))
            elif full is None:
                full = (outcome, int(detail))
        if failure is not None:
            # Nothing was sent: every reservation and the claim go back.
            await self._refund(reservations)
            if idem_key is not None:
                await self._release_claim(idem_key)
            raise failure
        # Should the send fail, its reservations and the claim stay: it may have run with its
        # reply lost (the limits err closed, as the contract's accuracy note says; a retry with
        # the key answers 409 until the marker expires, then is an ordinary send).
        reply = await self._run_send(
            new, self._slot_keys(new.client, new.dest_key), full or ("", 0))
        return self._send_result(*reply), reservations

    async def _refund(self, reservations: Sequence[Reservation]) -> None:
        """Give back reservations; a lost refund leaves a counter one too high (errs closed)."""
        if not reservations:
            return
        answers = await asyncio.gather(
            *(self.scripts.run(r.script, [r.key], list(r.args)) for r in reservations),
            return_exceptions=True,
        )
        for answer in answers:
            if isinstance(answer, BaseException):
                log.warning("refund lost: %s", type(answer).__name__)

    async def _release_claim(self, idem_key: str) -> None:
        """The marker goes on a refusal, so a 429 may be retried with the same key."""
        try:
            await self.gate.call(lambda: self.client.delete(idem_key))
        except RedisError as exc:
            log.warning("idempotency claim not released (expires by itself): %s",
                        type(exc).__name__)

    # check

    async def check(
        self, code: str, client: str, *, verification_id: str = "", dest_hash: str = ""
    ) -> CheckResult:
        """Check as `client`: its own verification, by id or by the destination's hash."""
        pepper = self.settings.code_pepper
        if verification_id:
            dest_key, rand, mode = keys.dest_key_of_id(verification_id), keys.rand_of_id(
                verification_id), b"id"
        else:
            dest_key, rand, mode = crypto.dest_key(pepper, client, dest_hash), "", b"to"
        bucket = keys.bucket_of(dest_key)
        script_keys = [keys.v3_record_key(client, dest_key),
                       keys.v3_failed_checks_key(client, dest_key), keys.v3_events_stream(bucket)]
        if not self.cluster:
            script_keys.append(keys.EVENTS_STREAM)
            if verification_id:
                script_keys.append(keys.record_key(verification_id))
            else:
                script_keys += [keys.pending_key(client, dest_hash),
                                keys.failed_checks_key(client, dest_hash)]
        reply = await self.scripts.run("check", script_keys, [
            mode, self.mode, client, rand, dest_key, *crypto.code_macs(pepper, code),
        ], self.check_tail)
        if len(reply) == 1:
            return CheckResult(str(reply[0]))
        outcome, found_id, to, channel, status, attempts, retry_ms, tally = reply
        if tally == "1":
            await self._tally_approval(str(to))
        return CheckResult(str(outcome), str(found_id), str(to), str(channel), str(status),
                           int(attempts), int(retry_ms))

    async def _tally_approval(self, to: str) -> None:
        """Count a v3 SMS approval in its prefix's tally; a lost one only blocks sooner."""
        tally_key = keys.tally_key(crypto.prefix_hash(self.settings.code_pepper, to))
        try:
            await self.scripts.run("tally_approval", [tally_key], [
                keys.TALLY_APPROVED_FIELD_PREFIX, self.bucket_ms, self.guard_window_ms])
        except RedisError as exc:
            log.warning("approval not tallied: %s", type(exc).__name__)

    # cancel and read

    def _id_keys(self, verification_id: str, client: str) -> tuple[str, str, str]:
        dest_key = keys.dest_key_of_id(verification_id)
        return (dest_key, keys.v3_record_key(client, dest_key),
                keys.v3_retained_key(client, dest_key))

    async def cancel(self, verification_id: str, client: str) -> tuple[str, Snapshot | None]:
        dest_key, record_key, retained_key = self._id_keys(verification_id, client)
        script_keys = [record_key, retained_key, keys.v3_events_stream(keys.bucket_of(dest_key))]
        if not self.cluster:
            script_keys += [keys.record_key(verification_id), keys.EVENTS_STREAM]
        outcome, payload = await self.scripts.run("cancel", script_keys, [
            self.mode, client, keys.rand_of_id(verification_id), dest_key], self.cancel_tail)
        return str(outcome), (_loads(payload) if payload else None)

    async def read(self, verification_id: str, client: str) -> tuple[Snapshot, str] | None:
        """The snapshot and its status as of Redis' clock; None when there is no record or it
        is another client's."""
        _, record_key, retained_key = self._id_keys(verification_id, client)
        script_keys = [record_key, retained_key]
        if not self.cluster:
            script_keys.append(keys.record_key(verification_id))
        reply = await self.scripts.run("read", script_keys, [keys.rand_of_id(verification_id)])
        now_ms, live, retained, *v2_fields = reply
        now = int(now_ms)
        rand = keys.rand_of_id(verification_id)
        snapshot: Snapshot | None = None
        if live and (record := packed.unpack(str(live))).rand == rand:
            snapshot = record.snapshot(verification_id)
        elif retained:
            until, _, packed_text = str(retained).partition("|")
            if int(until) > now:
                snapshot = packed.unpack(packed_text).snapshot(verification_id)
        elif v2_fields:
            fields = dict(zip(v2_fields[::2], v2_fields[1::2], strict=True))
            if fields.get("client") == client:
                snapshot = snapshot_from_hash(fields)
        if snapshot is None:
            return None
        return snapshot, effective_status(snapshot, now)

    async def ping(self) -> bool:
        return bool(await self.gate.call(self.client.ping))
