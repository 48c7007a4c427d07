"""The users area's consumer of `vfy:events`: sets phone_verified / email_verified on approval, on
the one user whose id is the verification's `reference` and whose destination was approved.

Run: `python -m monolith.events`. Consumer group `monolith-users`; entries are handled idempotently
and then acknowledged; entries left pending by a dead consumer are reclaimed with XAUTOCLAIM.
Redis outages are logged and retried with backoff; SIGTERM/SIGINT stop it cleanly.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import redis
from redis.commands.core import Script

from monolith import keys, logs
from monolith.crypto import Keyring
from monolith.extensions import build_redis
from monolith.settings import Settings
from monolith.store import Scripts
from monolith.users_store import mark_verified

logger = logging.getLogger("monolith.events")
# Event schemas this consumer reads (storage contract): 2 adds `client` and `reference` (the user's
# id, for the users area's own verifications); 1, still written by a side not yet upgraded, has no
# reference, so its approvals mark nobody.
SCHEMAS = ("1", "2")
Entry = tuple[str, dict[str, str]]


def default_consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


@dataclass
class EventsConsumer:
    client: redis.Redis
    mark_script: Script
    keyring: Keyring  # the contract's dest_hash, to match the user's destination to the event's
    consumer: str = field(default_factory=default_consumer_name)
    block_ms: int = 200
    batch: int = 100
    reclaim_idle_ms: int = 30_000
    reclaim_every_s: float = 5.0
    max_backoff_s: float = 5.0
    handled: int = 0

    def ensure_group(self) -> None:
        try:
            self.client.xgroup_create(keys.EVENTS, keys.EVENTS_GROUP, id="0", mkstream=True)
            # MKSTREAM made the stream here: give it the contract's TTL (writers renew it)
            self.client.pexpire(keys.EVENTS, keys.STREAM_TTL_MS, nx=True)
        except redis.exceptions.OutOfMemoryError:
            # A full Redis refuses XGROUP CREATE before it looks for the group: one that exists
            # is enough to read events (marking users waits until Redis has memory again).
            if not self.group_exists():
                raise
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def group_exists(self) -> bool:
        try:
            groups: Any = self.client.xinfo_groups(keys.EVENTS)
        except redis.ResponseError:  # no such key
            return False
        return any(group["name"] == keys.EVENTS_GROUP for group in groups)

    def handle(self, entry: Entry) -> None:
        entry_id, fields = entry[0], entry[1] or {}  # fields are None for a trimmed entry
        if fields and fields.get("schema") not in SCHEMAS:
            logger.warning("event %s has schema %r, not one of %s: skipped", entry_id,
                           fields.get("schema"), ", ".join(SCHEMAS))
        elif fields.get("type") == "verification.approved":
            marked = mark_verified(
                self.client, self.mark_script, self.keyring, fields.get("reference", ""),
                fields.get("channel", ""), fields.get("dest_hash", ""),
            )
            logger.info("event %s approved: %d user(s) marked", entry_id, marked)
        self.client.xack(keys.EVENTS, keys.EVENTS_GROUP, entry_id)
        self.handled += 1

    def reclaim(self) -> None:
        """Take over entries another consumer read but never acknowledged (it died)."""
        start = "0-0"
        while True:
            reply: Any = self.client.xautoclaim(
                keys.EVENTS, keys.EVENTS_GROUP, self.consumer, self.reclaim_idle_ms,
                start_id=start, count=self.batch,
            )
            start, claimed = str(reply[0]), list(reply[1])
            for entry in claimed:
                self.handle(entry)
            if start == "0-0" or not claimed:
                return

    def poll_once(self) -> None:
        reply: Any = self.client.xreadgroup(
            keys.EVENTS_GROUP, self.consumer, {keys.EVENTS: ">"}, count=self.batch,
            block=self.block_ms,
        )
        for _stream, entries in reply or []:
            for entry in entries:
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
                    logger.info("consuming %s as %s/%s", keys.EVENTS, keys.EVENTS_GROUP,
                                self.consumer)
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
                if "NOGROUP" in str(error):
                    ready = False  # the stream expired with its group: create both again
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
        keyring=Keyring(settings.code_pepper),
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
