"""The users area's consumer of the events streams: sets phone_verified / email_verified on
approval, on the one user whose id is the verification's `reference` and whose destination was
approved.

Run: `python -m monolith.events`. Consumer group `monolith-users` on every events stream
(monolith/streams.py: the 64 version-3 buckets and, off a cluster, version 2's `vfy:events`);
entries are handled idempotently and then acknowledged; entries left pending by a dead consumer
are reclaimed with XAUTOCLAIM. Redis outages are logged and retried with backoff; SIGTERM/SIGINT
stop it cleanly.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType

import redis
from redis.commands.core import Script

from monolith import keys, logs
from monolith.crypto import Keyring
from monolith.extensions import build_redis
from monolith.settings import Settings
from monolith.store import Scripts
from monolith.streams import GroupStreams, StreamEntry, events_streams
from monolith.users_store import mark_verified

logger = logging.getLogger("monolith.events")
# Event schemas this consumer reads (storage contract): 2 carries the destination's `dest_hash`,
# 3 (the version-3 buckets) its client-bound `dest_key`; both carry `client` and `reference` (the
# user's id, for the users area's own verifications). Schema 1 is no longer written nor read.
SCHEMAS = ("2", "3")


def default_consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def destination_matcher(keyring: Keyring, fields: dict[str, str]) -> Callable[[str], bool]:
    """Whether a user's destination (on the event's channel) is the one the event approved:
    schema 2 names it by `dest_hash`, schema 3 by `dest_key`, bound to the event's `client`."""
    channel = fields.get("channel", "")
    if fields.get("schema") == "3":
        client, dest_key = fields.get("client", ""), fields.get("dest_key", "")
        return lambda to: bool(dest_key) and keyring.dest_key(
            client, keyring.dest_hash(channel, to)) == dest_key
    dest_hash = fields.get("dest_hash", "")
    return lambda to: bool(dest_hash) and keyring.dest_hash(channel, to) == dest_hash


@dataclass
class EventsConsumer:
    client: redis.Redis
    mark_script: Script
    keyring: Keyring  # the contract's dest_hash / dest_key, to match the user's destination
    consumer: str = field(default_factory=default_consumer_name)
    cluster: bool = False  # a Redis Cluster: no version-2 data, so no vfy:events
    block_ms: int = 200
    batch: int = 100
    reclaim_idle_ms: int = 30_000
    reclaim_every_s: float = 5.0
    max_backoff_s: float = 5.0
    handled: int = 0
    streams: GroupStreams = field(init=False)

    def __post_init__(self) -> None:
        self.streams = GroupStreams(self.client, keys.EVENTS_GROUP, self.consumer,
                                    events_streams(self.cluster), self.cluster)

    def ensure_group(self) -> None:
        self.streams.ensure_groups()

    def handle(self, entry: StreamEntry) -> None:
        stream, entry_id, fields = entry
        if fields and fields.get("schema") not in SCHEMAS:
            logger.warning("event %s of %s has schema %r, not one of %s: skipped", entry_id,
                           stream, fields.get("schema"), ", ".join(SCHEMAS))
        elif fields.get("type") == "verification.approved":
            marked = mark_verified(
                self.client, self.mark_script, fields.get("reference", ""),
                fields.get("channel", ""), destination_matcher(self.keyring, fields),
            )
            logger.info("event %s approved: %d user(s) marked", entry_id, marked)
        self.streams.ack(stream, entry_id)
        self.handled += 1

    def reclaim(self) -> None:
        """Take over entries another consumer read but never acknowledged (it died)."""
        for entry in self.streams.reclaim(self.reclaim_idle_ms, self.batch):
            self.handle(entry)

    def poll_once(self) -> None:
        for entry in self.streams.read(self.batch, self.block_ms):
            self.handle(entry)

    def run(self, stop: threading.Event) -> None:
        backoff = 0.1
        next_reclaim = 0.0
        ready = False
        while not stop.is_set():
            try:
                if not ready:
                    self.ensure_group()
                    ready = True
                    buckets = f"the {keys.BUCKETS} vfy3:{{b…}}:events buckets"
                    logger.info("consuming %s as %s/%s",
                                buckets if self.cluster else f"{keys.EVENTS} and {buckets}",
                                keys.EVENTS_GROUP, self.consumer)
                if time.monotonic() >= next_reclaim:
                    self.reclaim()
                    next_reclaim = time.monotonic() + self.reclaim_every_s
                self.poll_once()
                backoff = 0.1
            except (redis.ConnectionError, redis.TimeoutError) as error:
                logger.warning("Redis unavailable (%s); retrying in %.1fs", error, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
            except redis.exceptions.OutOfMemoryError:  # maxmemory: writes refused for a while
                logger.warning("Redis is out of memory (maxmemory); retrying in %.1fs", backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
            except redis.ResponseError as error:
                # NOGROUP: a stream expired with its group; UNBLOCKED: it went while this
                # consumer blocked on it. Create them again.
                if "NOGROUP" in str(error) or "UNBLOCKED" in str(error):
                    ready = False
                    continue
                logger.error("Redis refused a command (%s); retrying in %.1fs", error, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
            except Exception:  # never crash: log, back off, go on (the entry stays pending)
                logger.exception("unexpected error; retrying in %.1fs", backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)
        logger.info("stopped after %d event(s)", self.handled)


def build_consumer(settings: Settings) -> EventsConsumer:
    client = build_redis(settings.redis_url, cluster=settings.redis_cluster)
    return EventsConsumer(
        client=client, mark_script=Scripts.register(client).mark_verified,
        keyring=Keyring(settings.code_pepper), cluster=settings.redis_cluster,
    )


def main() -> None:
    logs.configure(os.environ.get("LOG_LEVEL", "INFO"))
    consumer = build_consumer(Settings.from_env())
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    consumer.run(stop)
    consumer.client.close()


if __name__ == "__main__":
    main()
