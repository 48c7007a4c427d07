"""Helpers for the dispatcher tests: outbox jobs written as the storage contract says, settings
with small backoffs, and polling that does not block the event loop the dispatcher runs on."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import redis
import redis.cluster
from redis.typing import EncodableT, FieldT

from devtools.components import local_spec
from devtools.processes import Process, StaysUp, start_one
from devtools.redis_server import cluster_mode, free_port
from infra.components import by_name
from services.dispatcher.channels.factory import build_channels
from services.dispatcher.jobs import outbox_streams
from services.dispatcher.metrics import DispatchMetrics
from services.dispatcher.outbox import RedisClient
from services.dispatcher.runner import Dispatcher
from services.dispatcher.settings import DispatcherSettings
from services.verification import crypto, keys, packed
from services.verification.redis_client import connect
from tests.support.devinbox import RunningInbox

PEPPER = "dispatcher-test-pepper"
CODE_TTL_MS = 600_000
RETENTION_MS = 86_400_000
OWNER = "acme"  # the client that owns the version-3 verifications written here
# Every stream the dispatcher consumes on the session's Redis: the 64 buckets, and on a single node
# version 2's vfy:outbox too (a cluster has no version-2 data: services/dispatcher/jobs.py).
ALL_OUTBOX_STREAMS = tuple(stream.name for stream in outbox_streams(cluster_mode()))

AnyRedis = redis.Redis | redis.cluster.RedisCluster


@dataclass(frozen=True)
class Job:
    verification_id: str
    channel: str
    to: str
    code: str
    entry_id: str
    stream: str  # the outbox stream it was enqueued on
    record_key: str


def redis_now_ms(client: AnyRedis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def new_code() -> str:
    return f"{secrets.randbelow(10**10):010d}"  # 10 digits: never a substring of an entry id


def write_job(
    client: AnyRedis, channel: str, to: str, status: str = "pending",
    expires_in_ms: int = CODE_TTL_MS, owner: str = OWNER,
) -> Job:
    """A version-3 verification record and its delivery job, as docs/storage-contract.md
    "Version 3" says the send script writes them: the packed record at the client's destination
    key, the job on the destination's bucket."""
    dest_key = crypto.dest_key(PEPPER, owner, crypto.dest_hash(PEPPER, channel, to.lower()))
    rand = secrets.token_hex(8)
    verification_id = "VE" + dest_key + rand
    code = new_code()
    sealed = crypto.seal_code_v3(PEPPER, verification_id, code)
    now = redis_now_ms(client)
    created_at = now + expires_in_ms - CODE_TTL_MS  # expires_at = created_at + ttl
    record = packed.PackedRecord(
        rand=rand, to=to, channel=channel, locale="", reference="", status=status,
        code_mac16=crypto.code_mac16(PEPPER, code), code_sealed=sealed, send_attempts=1,
        check_attempts=0, created_at=created_at, ttl=CODE_TTL_MS, sent_offset=0,
    )
    record_key = keys.v3_record_key(owner, dest_key)
    client.set(record_key, packed.pack(record), px=CODE_TTL_MS + RETENTION_MS)
    stream = keys.v3_outbox_stream(keys.bucket_of(dest_key))
    job_fields: dict[FieldT, EncodableT] = {
        "verification_id": verification_id, "channel": channel, "to": to, "locale": "",
        "code_sealed": sealed, "send_attempt": "1", "enqueued_at": str(now), "client": owner,
    }
    entry_id = client.xadd(stream, job_fields, maxlen=keys.V3_STREAM_MAXLEN, approximate=True)
    client.pexpire(stream, keys.STREAM_TTL_MS)
    return Job(verification_id, channel, to, code, str(entry_id), stream, record_key)


def write_v2_job(
    client: redis.Redis, channel: str, to: str, status: str = "pending",
    expires_in_ms: int = CODE_TTL_MS,
) -> Job:
    """A version-2 verification record and its delivery job on vfy:outbox, field by field as
    docs/storage-contract.md (version 2) says."""
    verification_id = "VE" + secrets.token_hex(16)
    code = new_code()
    sealed = crypto.seal_code(PEPPER, verification_id, code)
    now = redis_now_ms(client)
    record: dict[FieldT, EncodableT] = {
        "v": "2", "id": verification_id, "to": to, "channel": channel, "locale": "",
        "client": OWNER, "reference": "", "status": status, "code_mac": "0" * 64,
        "code_sealed": sealed, "dest_hash": "0" * 32, "send_attempts": "1",
        "check_attempts": "0", "created_at": str(now), "expires_at": str(now + expires_in_ms),
        "last_sent_at": str(now),
    }
    client.hset(keys.record_key(verification_id), mapping=record)
    client.pexpire(keys.record_key(verification_id), CODE_TTL_MS + RETENTION_MS)
    job_fields: dict[FieldT, EncodableT] = {
        "verification_id": verification_id, "channel": channel, "to": to, "locale": "",
        "code_sealed": sealed, "send_attempt": "1", "enqueued_at": str(now),
    }
    entry_id = client.xadd(
        keys.OUTBOX_STREAM, job_fields, maxlen=keys.OUTBOX_MAXLEN, approximate=True,
    )
    client.pexpire(keys.OUTBOX_STREAM, keys.STREAM_TTL_MS)
    return Job(verification_id, channel, to, code, str(entry_id), keys.OUTBOX_STREAM,
               keys.record_key(verification_id))


def record_of(client: AnyRedis, job: Job) -> object:
    """The job's verification record as stored (a packed string or a version-2 hash)."""
    if job.stream == keys.OUTBOX_STREAM:
        return client.hgetall(job.record_key)
    return client.get(job.record_key)


def outbox_is_empty(client: AnyRedis, streams: tuple[str, ...] = ALL_OUTBOX_STREAMS) -> bool:
    """Every job handled: none in any stream, none pending (False until every group exists)."""
    pipe = client.pipeline(transaction=False)
    for stream in streams:
        pipe.xlen(stream)
        pipe.xpending(stream, keys.OUTBOX_GROUP)
    replies = pipe.execute(raise_on_error=False)
    if any(isinstance(reply, Exception) for reply in replies):
        return False
    lengths, pendings = replies[0::2], replies[1::2]
    return not any(lengths) and not any(p["pending"] for p in pendings)


def outbox_length(client: AnyRedis, streams: tuple[str, ...] = ALL_OUTBOX_STREAMS) -> int:
    pipe = client.pipeline(transaction=False)
    for stream in streams:
        pipe.xlen(stream)
    return sum(pipe.execute())


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
        "REDIS_CLUSTER": "1" if cluster_mode() else "0",  # the session's Redis (tests/conftest.py)
    }
    env.update(overrides)
    return env


def async_client(redis_url: str) -> RedisClient:
    """An asyncio client of the session's Redis, of the kind the dispatcher builds for it (a
    cluster client with REDIS_CLUSTER=1: services/dispatcher/app.py)."""
    return connect(redis_url, cluster=cluster_mode(), socket_timeout=None,
                   socket_connect_timeout=5)


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


@asynccontextmanager
async def dispatching(
    settings: DispatcherSettings, client: RedisClient,
    configure: Callable[[Dispatcher], None] | None = None,
) -> AsyncIterator[DispatchMetrics]:
    """One dispatcher on `client` (app.serve builds a single-node client; a cluster test gives a
    cluster client), `configure`d before it runs, stopped as SIGTERM stops it."""
    metrics = DispatchMetrics()
    channels = build_channels(settings)
    dispatcher = Dispatcher(settings, client, channels, metrics)
    if configure is not None:
        configure(dispatcher)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        yield metrics
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        for channel in channels.values():
            await channel.close()
