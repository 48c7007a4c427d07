"""Codes never appear in logs; every key the monolith writes has a TTL."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from devtools.redis_server import cluster_mode
from monolith import keys
from monolith.crypto import Keyring
from monolith.events import EventsConsumer
from monolith.extensions import build_redis
from monolith.store import Scripts
from monolith.streams import events_streams

PHONE = "+14155550100"


def full_flow(client: FlaskClient, outbox_codes: Callable[[str], list[str]]) -> list[str]:
    """Send, resend, wrong and right checks, a cancel, an exhausted one, a user: the codes seen."""
    codes: list[str] = []
    vid = client.post("/api/verifications", json={"to": PHONE, "channel": "sms"},
                      headers={"Idempotency-Key": "flow-1"}).get_json()["id"]
    client.post("/api/verifications", json={"to": PHONE, "channel": "sms"})
    code = outbox_codes(vid)[0]
    codes.append(code)
    wrong = "".join(str((int(d) + 1) % 10) for d in code)
    client.post("/api/verification-checks", json={"to": PHONE, "code": wrong})
    client.post("/api/verification-checks", json={"verification_id": vid, "code": code})
    other = client.post("/api/verifications", json={"to": "a@example.com", "channel": "email"})
    other_id = other.get_json()["id"]
    codes += outbox_codes(other_id)
    client.post(f"/api/verifications/{other_id}/cancel")
    third = client.post("/api/verifications", json={"to": "+14155550111", "channel": "sms"})
    third_id = third.get_json()["id"]
    third_code = outbox_codes(third_id)[0]
    codes.append(third_code)
    for _ in range(6):
        client.post("/api/verification-checks",
                    json={"to": "+14155550111", "code": str(int(third_code) ^ 1).zfill(6)})
    client.post("/api/users", json={"name": "Ada", "phone": PHONE, "email": "a@example.com"})
    return codes


def test_codes_never_reach_the_logs(
    caplog: pytest.LogCaptureFixture, client: FlaskClient,
    outbox_codes: Callable[[str], list[str]], capfd: pytest.CaptureFixture[str], json_logs: None,
) -> None:
    caplog.set_level(logging.DEBUG)
    codes = full_flow(client, outbox_codes)
    logged = caplog.text + "".join(capfd.readouterr())  # the JSON lines too, as written
    assert codes and all(code not in logged for code in codes)


def test_an_unexpected_error_is_a_500_problem_logged_without_the_request(
    make_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str], json_logs: None,
) -> None:
    app = make_app()

    @app.get("/boom")
    def boom() -> Any:
        secret = str(424242)
        raise RuntimeError(f"secret {secret} in the message")

    caplog.set_level(logging.DEBUG)
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.get_json()["code"] == "internal_error"
    assert response.mimetype == "application/problem+json"
    assert "RuntimeError" in caplog.text and "424242" not in caplog.text
    written = capfd.readouterr().err
    assert "RuntimeError" in written and "424242" not in written


def test_every_key_has_a_ttl(
    client: FlaskClient, outbox_codes: Callable[[str], list[str]], redis_client: redis.Redis,
    redis_url: str, keyring: Keyring,
) -> None:
    consumer_client = build_redis(redis_url, cluster=cluster_mode())
    consumer = EventsConsumer(consumer_client, Scripts.register(consumer_client).mark_verified,
                              keyring, cluster=cluster_mode())
    stop = threading.Event()
    thread = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    thread.start()
    try:
        full_flow(client, outbox_codes)
    finally:
        stop.set()
        thread.join(timeout=5)
        consumer_client.close()
    found = list(redis_client.scan_iter(count=1000))
    for prefix in ["vfy3:", "vfy:rl:dest:", "vfy:rl:ip:", "vfy:idem:", "users:US"]:
        assert any(key.startswith(prefix) for key in found), prefix
    for kind in [":d:", ":outbox", ":events"]:  # the v3 record and the bucket streams
        assert any(key.startswith("vfy3:{b") and kind in key for key in found), kind
    without_ttl = [key for key in found if redis_client.pttl(key) <= 0]
    assert without_ttl == []


def test_a_group_created_before_any_event_gets_the_stream_ttl(
    redis_client: redis.Redis, redis_url: str, keyring: Keyring
) -> None:
    consumer_client = build_redis(redis_url, cluster=cluster_mode())
    try:
        EventsConsumer(consumer_client, Scripts.register(consumer_client).mark_verified,
                       keyring, cluster=cluster_mode()).ensure_group()
    finally:
        consumer_client.close()
    streams = events_streams(cluster_mode())  # vfy:events too, where version-2 data can exist
    assert len(streams) == keys.BUCKETS + (not cluster_mode())
    assert [stream for stream in streams
            if not 0 < redis_client.pttl(stream) <= 7 * 86400 * 1000] == []
