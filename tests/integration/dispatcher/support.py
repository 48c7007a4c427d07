"""Helpers for the dispatcher tests: outbox jobs written as the storage contract says, settings
with small backoffs, and polling that does not block the event loop the dispatcher runs on."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import redis
from redis.typing import EncodableT, FieldT

from devtools.components import local_spec
from devtools.processes import Process, StaysUp, start_one
from devtools.redis_server import free_port
from infra.components import by_name
from services.dispatcher.settings import DispatcherSettings
from services.verification import keys
from services.verification.crypto import seal_code
from tests.support.devinbox import RunningInbox

PEPPER = "dispatcher-test-pepper"
CODE_TTL_MS = 600_000


@dataclass(frozen=True)
class Job:
    verification_id: str
    channel: str
    to: str
    code: str
    entry_id: str


def redis_now_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def write_job(
    client: redis.Redis, channel: str, to: str, status: str = "pending",
    expires_in_ms: int = CODE_TTL_MS,
) -> Job:
    """A verification record and its delivery job, field by field as docs/storage-contract.md."""
    verification_id = "VE" + secrets.token_hex(16)
    code = f"{secrets.randbelow(10**10):010d}"  # 10 digits: never a substring of an entry id
    sealed = seal_code(PEPPER, verification_id, code)
    now = redis_now_ms(client)
    record: dict[FieldT, EncodableT] = {
        "v": "1", "id": verification_id, "to": to, "channel": channel, "locale": "",
        "status": status, "code_mac": "0" * 64, "code_sealed": sealed, "dest_hash": "0" * 32,
        "send_attempts": "1", "check_attempts": "0", "created_at": str(now),
        "expires_at": str(now + expires_in_ms), "last_sent_at": str(now),
    }
    client.hset(keys.record_key(verification_id), mapping=record)
    client.pexpire(keys.record_key(verification_id), CODE_TTL_MS + 86_400_000)
    job_fields: dict[FieldT, EncodableT] = {
        "verification_id": verification_id, "channel": channel, "to": to, "locale": "",
        "code_sealed": sealed, "send_attempt": "1", "enqueued_at": str(now),
    }
    entry_id = client.xadd(
        keys.OUTBOX_STREAM, job_fields, maxlen=keys.OUTBOX_MAXLEN, approximate=True,
    )
    client.pexpire(keys.OUTBOX_STREAM, keys.STREAM_TTL_MS)
    return Job(verification_id, channel, to, code, str(entry_id))


def outbox_is_empty(client: redis.Redis) -> bool:
    """Every job handled: none in the stream, none pending (False until the group exists)."""
    try:
        pending = client.xpending(keys.OUTBOX_STREAM, keys.OUTBOX_GROUP)
    except redis.ResponseError:
        return False
    return client.xlen(keys.OUTBOX_STREAM) == 0 and pending["pending"] == 0


def dispatcher_env(redis_url: str, inbox: RunningInbox, **overrides: str) -> dict[str, str]:
    env = {
        "REDIS_URL": redis_url,
        "CODE_PEPPER": PEPPER,
        "VERIFY_CODE_TTL_SECONDS": str(CODE_TTL_MS // 1000),
        "SMS_BACKEND": "devinbox",
        "DEVINBOX_URL": inbox.url,
        "SMTP_HOST": inbox.smtp_host,
        "SMTP_PORT": str(inbox.smtp_port),
        "DISPATCH_MAX_ATTEMPTS": "3",
        "DISPATCH_BACKOFF_BASE_SECONDS": "0.05",
        "DISPATCH_DELIVERY_TIMEOUT_SECONDS": "5",
        "DISPATCH_CONSUMER_NAME": "test-" + secrets.token_hex(4),
    }
    env.update(overrides)
    return env


def dispatcher_settings(
    redis_url: str, inbox: RunningInbox, **overrides: str
) -> DispatcherSettings:
    return DispatcherSettings.from_env(dispatcher_env(redis_url, inbox, **overrides))


def closed_port() -> int:
    """A loopback port with nothing listening: connections are refused at once."""
    return free_port()


async def eventually(
    predicate: Callable[[], Awaitable[bool]] | Callable[[], bool], timeout: float = 10.0
) -> None:
    """Poll without blocking the event loop the dispatcher runs on."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = predicate()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(0.02)


def dead_letters(client: redis.Redis) -> list[dict[str, str]]:
    entries: list[tuple[str, dict[str, str]]] = client.xrange(  # type: ignore[assignment]
        keys.DEAD_LETTER_STREAM
    )
    return [fields for _id, fields in entries]


def start_dispatcher(env: Mapping[str, str]) -> Process:
    """`python -m services.dispatcher` as declared, with `env`, returned as soon as it runs (it
    starts delivering within a second: a test may need to catch it mid-stream)."""
    spec = local_spec(by_name("dispatcher"), {}, {**env, "PYTHONUNBUFFERED": "1"})
    return start_one(dataclasses.replace(spec, ready=StaysUp(0)), timeout=10)
