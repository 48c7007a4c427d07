"""Flask app and client fixtures on the session's real Redis (tests/conftest.py), short TTLs."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from devtools.redis_server import cluster_mode
from monolith import create_app, keys, logs, packed
from monolith.crypto import Keyring
from monolith.settings import Settings
from tests.support.api_keys import shared_key, shared_keyring_file

PEPPER = "integration-test-pepper"
PHONE = "+14155550100"
# Most tests send many SMS to the one prefix of PHONE and enter few codes: the SMS-pumping guards
# are out of their reach; tests/integration/monolith/test_sms_guards.py sets its own.
OUT_OF_REACH = 1_000_000


@pytest.fixture
def settings(redis_url: str) -> Settings:
    return Settings(
        redis_url=redis_url,
        redis_cluster=cluster_mode(),  # the session's Redis (tests/conftest.py)
        code_pepper=PEPPER,
        code_ttl_seconds=120,
        retention_seconds=60,
        resend_cooldown_seconds=0,
        idempotency_ttl_seconds=60,
        dest_window_seconds=60,
        ip_window_seconds=60,
        users_ttl_seconds=120,
        keyring_file=shared_keyring_file(),
        sms_prefix_limit=OUT_OF_REACH,
        prefix_guard_min_sms=OUT_OF_REACH,
        sms_global_limit=OUT_OF_REACH,
    )


class KeyedClient(FlaskClient):
    """A test client that sends the tests' API key on every request (docs/api.md
    "Authentication"); a request's own Authorization header still wins."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.environ_base["HTTP_AUTHORIZATION"] = shared_key().authorization["Authorization"]


@pytest.fixture
def make_app(settings: Settings, redis_client: redis.Redis) -> Iterator[Callable[..., Flask]]:
    """create_app with the test settings, some overridden; Redis is flushed first."""
    apps: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        app = create_app(dataclasses.replace(settings, **overrides))
        app.config["TESTING"] = True
        app.test_client_class = KeyedClient
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["monolith"].redis.close()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(PEPPER)


Entries = list[tuple[str, dict[str, str]]]


@pytest.fixture
def stream(redis_client: redis.Redis) -> Callable[[str], Entries]:
    """Every entry of a stream, oldest first."""

    def read(name: str) -> Entries:
        entries: Entries = redis_client.xrange(name)  # type: ignore[assignment]
        return entries

    return read


def v3_key(verification_id: str, client: str = "tests") -> str:
    """The version-3 record key an id names (its characters 3-18 are the dest_key)."""
    return keys.v3_record(client, verification_id[2:18])


@pytest.fixture
def v3_record(redis_client: redis.Redis) -> Callable[[str], packed.Packed | None]:
    """The live packed record of a version-3 id, or None when its key holds another one."""

    def read(verification_id: str) -> packed.Packed | None:
        raw = redis_client.get(v3_key(verification_id))
        if not isinstance(raw, str):
            return None
        record = packed.unpack(raw)
        return record if record.rand == verification_id[18:] else None

    return read


@pytest.fixture
def outbox_codes(
    stream: Callable[[str], Entries], keyring: Keyring
) -> Callable[[str], list[str]]:
    """Codes of every delivery job for a verification, oldest first: from the 64 bucket outboxes
    (version-3 seals) and vfy:outbox (version-2 seals), as a dispatcher reads them."""

    def read(verification_id: str) -> list[str]:
        found: list[tuple[int, int, str]] = []
        for name in [*keys.v3_outboxes(), keys.OUTBOX]:
            opened = keyring.open_seal if name == keys.OUTBOX else keyring.open_seal_v3
            for entry_id, fields in stream(name):
                if fields["verification_id"] == verification_id:
                    ms, seq = entry_id.split("-")
                    code = opened(verification_id, fields["code_sealed"])
                    found.append((int(ms), int(seq), code))
        return [code for _ms, _seq, code in sorted(found)]

    return read


@pytest.fixture
def start(client: FlaskClient) -> Callable[..., Any]:
    """POST /api/verifications and return the response."""

    def send(to: str = PHONE, channel: str = "sms", **kwargs: Any) -> Any:
        return client.post("/api/verifications", json={"to": to, "channel": channel}, **kwargs)

    return send


@pytest.fixture
def json_logs(capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    """The process's logging as gunicorn and the events consumer set it up (monolith.logs), its
    JSON lines on the captured stderr; the logging of the test run put back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    root.handlers = []  # only this process's own handler: none an earlier test left behind
    logs.configure("DEBUG")
    yield
    root.handlers = handlers
    root.setLevel(level)
