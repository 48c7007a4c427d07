"""Verifications in Redis: the adapter that runs the contract's Lua scripts
(docs/storage-contract.md, versions 3 and 2).

On a single node every operation is one script, one round trip (a check by id first reads which
destination the id's record is for, to judge both versions' failed-checks counters). In cluster
mode (`settings.redis_cluster`) a send claims its Idempotency-Key and reserves the counters of
other slots with one-key scripts first, and refunds them after a refusal. The Redis client is
passed in by the caller; nothing here holds a connection.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import redis
from redis.cluster import RedisCluster
from redis.commands.core import Script

from monolith import keys, packed
from monolith.crypto import Keyring, generate_code, new_v3_verification_id, new_verification_id
from monolith.settings import Settings
from monolith.validation import CheckRequest, SendRequest

LUA_DIR = Path(__file__).resolve().parent / "lua"
RedisClient = Union[redis.Redis, RedisCluster]  # noqa: UP007 (a runtime alias)
# Shared parts prepended to a script, in order: common.lua to the scripts that read both record
# forms, tally.lua (the conversion tally's reading and rule) to the two that judge it.
PRELUDES: dict[str, tuple[str, ...]] = {
    "send": ("common", "tally"), "check": ("common",), "cancel": ("common",),
    "reserve_tally": ("tally",),
}


@dataclass(frozen=True)
class Scripts:
    send: Script
    check: Script
    cancel: Script
    read: Script
    tally_approval: Script
    reserve: Script
    reserve_tally: Script
    refund: Script
    idempotency_claim: Script
    mark_verified: Script

    @classmethod
    def register(cls, client: RedisClient) -> Scripts:
        def load(name: str) -> Script:
            parts = (*PRELUDES.get(name, ()), name)
            return client.register_script(
                "".join((LUA_DIR / f"{part}.lua").read_text() for part in parts))

        return cls(*(load(name) for name in (
            "send", "check", "cancel", "read", "tally_approval", "reserve", "reserve_tally",
            "refund", "idempotency_claim", "mark_verified",
        )))


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


@dataclass(frozen=True)
class Destination:
    """A client's destination: its version-2 hash and version-3 key, and the keys they name."""

    client: str
    dest_hash: str
    dest_key: str

    @property
    def bucket(self) -> int:
        return keys.bucket(self.dest_key)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _roles(pairs: list[tuple[str, str]]) -> tuple[list[str], str]:
    """The KEYS of a script called by role, and ARGV[1] naming the role of each."""
    return [key for _role, key in pairs], ",".join(role for role, _key in pairs)


def destination(keyring: Keyring, api_client: str, channel: str, to: str) -> Destination:
    dest_hash = keyring.dest_hash(channel, to)
    return Destination(api_client, dest_hash, keyring.dest_key(api_client, dest_hash))


def _id_dest_key(verification_id: str) -> str:
    return verification_id[2:18]  # a v3 id is `VE` + dest_key + rand


def _rand(verification_id: str) -> str:
    return verification_id[18:34]


@dataclass(frozen=True)
class _Limit:
    key: str
    limit: int
    window_ms: int
    refusal: str


def send(
    client: RedisClient,
    scripts: Scripts,
    settings: Settings,
    keyring: Keyring,
    api_client: str,  # the authenticated client (g.client): the new verification's owner
    request: SendRequest,
    client_ip: str,
    idempotency: tuple[str, str] | None,  # (Idempotency-Key, request_hash)
) -> SendResult:
    dest = destination(keyring, api_client, request.channel, request.to)
    code = generate_code(settings.code_length)  # used only when this send creates a verification
    # no version-2 data can exist in a cluster (its scripts would cross slots): always version 3
    write_version = 3 if settings.redis_cluster else settings.storage_write_version
    if write_version == 3:
        new_id = new_v3_verification_id(dest.dest_key)
        code_mac, code_sealed = keyring.code_mac16(code), keyring.seal_code_v3(new_id, code)
    else:
        new_id = new_verification_id()
        code_mac, code_sealed = keyring.code_mac(code), keyring.seal_code(new_id, code)
    idem_key, request_hash = "", ""
    if idempotency:
        idem_key = keys.idempotency(keyring.idem_hash(api_client, idempotency[0]))
        request_hash = idempotency[1]
    # the SMS-pumping guards count SMS per number prefix; "" skips them for an email
    prefix_hash = keyring.prefix_hash(request.to) if request.channel == "sms" else ""
    send_limits = [
        _Limit(keys.dest_limit(dest.dest_hash), settings.dest_limit,
               settings.dest_window_seconds * 1000, "rate_limited"),
        _Limit(keys.client_limit(api_client), settings.client_send_limit,
               settings.client_window_seconds * 1000, "rate_limited"),
        _Limit(keys.ip_limit(keyring.ip_hash(request.end_user_ip or client_ip)),
               settings.ip_limit, settings.ip_window_seconds * 1000, "rate_limited"),
    ]
    sms_limits = [
        _Limit(keys.prefix_limit(prefix_hash), settings.sms_prefix_limit,
               settings.sms_prefix_window_seconds * 1000, "prefix_rate_limited"),
        _Limit(keys.SMS_LIMIT, settings.sms_global_limit,
               settings.sms_global_window_seconds * 1000, "sms_capacity_exceeded"),
    ] if prefix_hash else []

    pairs = [("record", keys.v3_record(api_client, dest.dest_key))]
    if write_version == 3:
        pairs.append(("retained", keys.v3_retained(api_client, dest.dest_key)))
    pairs += [("fail", keys.v3_failed_checks(api_client, dest.dest_key)),
              ("outbox", keys.v3_outbox(dest.bucket))]

    def run_send(full: tuple[str, int]) -> tuple[str, int, str]:
        keys_, roles = _roles(pairs)
        reply = scripts.send(keys=keys_, args=[
            roles, write_version, new_id, code_mac, code_sealed, request.to, request.channel,
            request.locale or "", request.reference or "", api_client, dest.dest_key,
            dest.dest_hash, prefix_hash, request_hash,
            settings.code_ttl_seconds * 1000, settings.retention_seconds * 1000,
            settings.resend_cooldown_seconds * 1000, settings.max_sends,
            settings.dest_limit, settings.dest_window_seconds * 1000,
            settings.client_send_limit, settings.client_window_seconds * 1000,
            settings.ip_limit, settings.ip_window_seconds * 1000,
            settings.dest_failed_checks_per_day, settings.dest_failed_checks_window_seconds * 1000,
            settings.idempotency_ttl_seconds * 1000, keys.STREAM_TTL_MS,
            keys.V3_STREAM_MAXLEN, keys.OUTBOX_MAXLEN,
            settings.sms_prefix_limit, settings.sms_prefix_window_seconds * 1000,
            settings.prefix_guard_min_sms, settings.prefix_guard_min_approved_percent,
            settings.prefix_guard_window_seconds * 1000, settings.prefix_guard_bucket_ms,
            settings.prefix_guard_block_seconds * 1000, settings.sms_global_limit,
            settings.sms_global_window_seconds * 1000, keys.RECORD_PREFIX,
            full[0], full[1], keys.TALLY_BLOCK_FIELD,
        ], client=client)
        return _text(reply[0]), int(reply[1]), _text(reply[2])

    if settings.redis_cluster:
        return _send_in_cluster(
            client, scripts, settings, run_send, send_limits, sms_limits, prefix_hash, idem_key,
            request_hash,
        )
    pairs += [("dest", send_limits[0].key), ("client", send_limits[1].key),
              ("ip", send_limits[2].key),
              ("fail2", keys.failed_checks(api_client, dest.dest_hash)),
              ("pending2", keys.pending(api_client, dest.dest_hash)), ("outbox2", keys.OUTBOX)]
    if write_version == 2:
        pairs.append(("new2", keys.record(new_id)))
    if idem_key:
        pairs.append(("idem", idem_key))
    if prefix_hash:
        pairs += [("prefix", sms_limits[0].key), ("tally", keys.tally(prefix_hash)),
                  ("block2", keys.prefix_block(prefix_hash)), ("sms", sms_limits[1].key)]
    return _result(*run_send(("", 0)))


def _result(outcome: str, retry_ms: int, payload: str) -> SendResult:
    if outcome == "replay":
        stored = json.loads(payload)
        return SendResult(outcome, status=int(stored["status"]), record=stored["record"])
    if outcome in ("created", "resent"):
        status = 201 if outcome == "created" else 200
        return SendResult(outcome, status=status, record=json.loads(payload))
    return SendResult(outcome, retry_after_ms=retry_ms)


def _send_in_cluster(
    client: RedisClient, scripts: Scripts, settings: Settings, run_send: Any,
    send_limits: list[_Limit], sms_limits: list[_Limit], prefix_hash: str, idem_key: str,
    request_hash: str,
) -> SendResult:
    """Claim the Idempotency-Key, reserve the counters of other slots in version 2's order (the
    first full one ends it), run the send script with that outcome, then settle: a refusal
    refunds every reservation and frees the key, a resend refunds the tally's."""
    if idem_key:
        claim = scripts.idempotency_claim(
            keys=[idem_key], args=[request_hash, keys.IDEMPOTENCY_CLAIM_MS], client=client)
        claimed = _text(claim[0])
        if claimed == "replay":
            return _result("replay", 0, _text(claim[1]))
        if claimed == "in_progress":
            return SendResult("idempotency_key_in_use", retry_after_ms=1000)
        if claimed != "claimed":
            return SendResult(claimed)
    reserved: list[tuple[str, str]] = []  # (key, tally field or "")
    tally_reserved: list[tuple[str, str]] = []

    def settle(refunds: list[tuple[str, str]], free_key: bool) -> None:
        for key, field in refunds:
            scripts.refund(keys=[key], args=[field], client=client)
        if free_key and idem_key:
            client.delete(idem_key)

    full = ("", 0)
    try:
        for limit in send_limits:
            full = _reserve(client, scripts, limit, reserved)
            if full[0]:
                break
        if not full[0] and prefix_hash:
            tally = keys.tally(prefix_hash)
            reply = scripts.reserve_tally(keys=[tally], args=[
                settings.prefix_guard_min_sms, settings.prefix_guard_min_approved_percent,
                settings.prefix_guard_window_seconds * 1000, settings.prefix_guard_bucket_ms,
                settings.prefix_guard_block_seconds * 1000, keys.TALLY_BLOCK_FIELD,
            ], client=client)
            if _text(reply[0]) == "full":
                full = ("prefix_blocked", int(reply[1]))
            else:
                tally_reserved.append((tally, _text(reply[1])))
                reserved.append(tally_reserved[0])
                for limit in sms_limits:
                    full = _reserve(client, scripts, limit, reserved)
                    if full[0]:
                        break
        outcome, retry_ms, payload = run_send(full)
    except redis.RedisError:
        with contextlib.suppress(redis.RedisError):  # best effort: a lost refund errs closed
            settle(reserved, free_key=True)
        raise
    result = _result(outcome, retry_ms, payload)
    if result.record is None:
        settle(reserved, free_key=True)
        return result
    settle(tally_reserved if outcome == "resent" else [], free_key=False)
    if idem_key:
        stored = {"request_hash": request_hash, "status": result.status, "record": result.record}
        client.set(idem_key, json.dumps(stored), px=settings.idempotency_ttl_seconds * 1000)
    return result


def _reserve(
    client: RedisClient, scripts: Scripts, limit: _Limit, reserved: list[tuple[str, str]]
) -> tuple[str, int]:
    reply = scripts.reserve(keys=[limit.key], args=[limit.limit, limit.window_ms], client=client)
    if _text(reply[0]) == "full":
        return limit.refusal, int(reply[1])
    reserved.append((limit.key, ""))
    return "", 0


def check(
    client: RedisClient, scripts: Scripts, settings: Settings, keyring: Keyring,
    api_client: str, request: CheckRequest,
) -> CheckResult:
    single_node = not settings.redis_cluster
    verification_id = request.verification_id or ""
    if not verification_id:
        assert request.channel is not None and request.to is not None
        dest = destination(keyring, api_client, request.channel, request.to)
        pairs = [("record", keys.v3_record(api_client, dest.dest_key)),
                 ("fail", keys.v3_failed_checks(api_client, dest.dest_key)),
                 ("events", keys.v3_events(dest.bucket))]
        if single_node:
            pairs += [("fail2", keys.failed_checks(api_client, dest.dest_hash)),
                      ("pending2", keys.pending(api_client, dest.dest_hash)),
                      ("events2", keys.EVENTS)]
        dest_key = dest.dest_key
    else:
        dest_key = _id_dest_key(verification_id)
        record_key = keys.v3_record(api_client, dest_key)
        # By id, the record's own version's counter is judged (the contract's "Migration from
        # version 2"): the script finds a v2 record's from its dest_hash; the v3 one is the id's.
        pairs = [("record", record_key), ("fail", keys.v3_failed_checks(api_client, dest_key)),
                 ("events", keys.v3_events(keys.bucket(dest_key)))]
        if single_node:
            pairs += [("record2", keys.record(verification_id)), ("events2", keys.EVENTS)]
    keys_, roles = _roles(pairs)
    reply = scripts.check(keys=keys_, args=[
        roles, verification_id, dest_key, api_client, keyring.code_mac(request.code),
        keyring.code_mac16(request.code), settings.max_checks, settings.retention_seconds * 1000,
        settings.dest_failed_checks_per_day, settings.dest_failed_checks_window_seconds * 1000,
        keys.STREAM_TTL_MS, keys.V3_STREAM_MAXLEN, keys.EVENTS_MAXLEN, keys.RECORD_PREFIX,
        keys.PENDING_PREFIX, keys.FAILED_CHECKS_PREFIX,
    ], client=client)
    result = CheckResult(
        outcome=_text(reply[0]), verification_id=_text(reply[1]), to=_text(reply[2]),
        channel=_text(reply[3]), status=_text(reply[4]), check_attempts=int(reply[5]),
        retry_after_ms=int(reply[6]),
    )
    if result.outcome == "approved" and result.channel == "sms":
        # the prefix converts (the conversion guard's tally): a lost call only errs closed
        scripts.tally_approval(keys=[keys.tally(keyring.prefix_hash(result.to))], args=[
            settings.prefix_guard_bucket_ms, settings.prefix_guard_window_seconds * 1000,
        ], client=client)
    return result



def cancel(
    client: RedisClient, scripts: Scripts, settings: Settings, api_client: str,
    verification_id: str,
) -> tuple[str, dict[str, Any]]:
    """(outcome, record): outcome not_found (also another client's), not_pending or canceled
    (with the record)."""
    dest_key = _id_dest_key(verification_id)
    pairs = [("record", keys.v3_record(api_client, dest_key)),
             ("retained", keys.v3_retained(api_client, dest_key)),
             ("events", keys.v3_events(keys.bucket(dest_key)))]
    if not settings.redis_cluster:
        pairs += [("record2", keys.record(verification_id)), ("events2", keys.EVENTS)]
    keys_, roles = _roles(pairs)
    reply = scripts.cancel(keys=keys_, args=[
        roles, verification_id, dest_key, api_client, settings.retention_seconds * 1000,
        keys.STREAM_TTL_MS, keys.V3_STREAM_MAXLEN, keys.EVENTS_MAXLEN, keys.PENDING_PREFIX,
    ], client=client)
    outcome, payload = _text(reply[0]), _text(reply[1])
    return outcome, (json.loads(payload) if payload else {})


def read(
    client: RedisClient, scripts: Scripts, settings: Settings, api_client: str,
    verification_id: str,
) -> tuple[dict[str, Any], int] | None:
    """The record and Redis' clock in ms, read in one round trip; None when there is none or it
    is another client's. The live record when its rand is the id's, else the retained copy while
    it is retained, else (single node) the version-2 record."""
    dest_key, rand = _id_dest_key(verification_id), _rand(verification_id)
    read_keys = [keys.v3_record(api_client, dest_key), keys.v3_retained(api_client, dest_key)]
    if not settings.redis_cluster:
        read_keys.append(keys.record(verification_id))
    raw, retained, now_text, flat = scripts.read(keys=read_keys, args=[rand], client=client)
    now_ms = int(_text(now_text))
    if raw:
        record = packed.unpack(_text(raw))
        if record.rand == rand:
            return record.as_record(verification_id), now_ms
    if retained:
        until, _bar, kept = _text(retained).partition("|")
        if int(until) > now_ms:
            return packed.unpack(kept).as_record(verification_id), now_ms
    texts = [_text(item) for item in flat]
    fields = dict(zip(texts[::2], texts[1::2], strict=True))
    if fields and fields.get("client") == api_client:
        return fields, now_ms
    return None


def live_verification_id(
    client: RedisClient, settings: Settings, keyring: Keyring, api_client: str, channel: str,
    to: str,
) -> str | None:
    """The id of the client's verification for a destination that a send would resend: the v3
    record while pending, else (single node) the one the v2 pending index names."""
    dest = destination(keyring, api_client, channel, to)
    raw = client.get(keys.v3_record(api_client, dest.dest_key))
    if raw:
        record = packed.unpack(_text(raw))
        if record.status == "pending":
            return f"VE{dest.dest_key}{record.rand}"
    if settings.redis_cluster:
        return None
    found = client.get(keys.pending(api_client, dest.dest_hash))
    return _text(found) if found else None
