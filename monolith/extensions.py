"""The Redis client as a Flask extension: built from settings in the factory, never at import."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from flask import Flask, current_app
from redis.backoff import NoBackoff
from redis.retry import Retry

from monolith.crypto import Keyring
from monolith.settings import Settings
from monolith.store import Scripts

EXTENSION_KEY = "monolith"
SOCKET_TIMEOUT_SECONDS = 2.0
HEALTH_CHECK_INTERVAL_SECONDS = 10


def build_redis(url: str) -> redis.Redis:
    """A client that fails fast when Redis is down (no retries) and reconnects on the next call."""
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        health_check_interval=HEALTH_CHECK_INTERVAL_SECONDS,
        retry=Retry(NoBackoff(), 0),
        retry_on_error=[],
    )


@dataclass(frozen=True)
class Backend:
    """What a request needs besides itself: settings, the client, its scripts, the keyring."""

    settings: Settings
    redis: redis.Redis
    scripts: Scripts
    keyring: Keyring


class RedisExtension:
    def init_app(self, app: Flask, settings: Settings) -> None:
        client = build_redis(settings.redis_url)
        app.extensions[EXTENSION_KEY] = Backend(
            settings=settings,
            redis=client,
            scripts=Scripts.register(client),
            keyring=Keyring(settings.code_pepper),
        )


def backend() -> Backend:
    found: Backend = current_app.extensions[EXTENSION_KEY]
    return found
