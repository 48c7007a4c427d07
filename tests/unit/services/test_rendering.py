"""Rendering: timestamp vectors, member order, the expired view, check results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.verification import keys
from services.verification.rendering import (
    effective_status,
    render_check_result,
    render_time,
    render_verification,
    snapshot_from_hash,
)

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[3] / "docs" / "storage-contract-vectors.json").read_text("utf-8")
)
HASH = {"v": "2", "id": "VE0123456789abcdef0123456789abcdef", "to": "+14155550100",
        "channel": "sms", "locale": "", "client": "acme", "reference": "", "status": "pending",
        "code_mac": "x", "code_sealed": "y",
        "dest_hash": "z", "send_attempts": "2", "check_attempts": "1",
        "created_at": "1795883589120", "expires_at": "1795884189120", "last_sent_at": "1"}


@pytest.mark.parametrize("vector", VECTORS["timestamps"], ids=lambda v: v["rendered"])
def test_time_vectors(vector: dict[str, Any]) -> None:
    assert render_time(vector["ms"]) == vector["rendered"]


def test_key_and_stream_vectors() -> None:
    for destination in VECTORS["destinations"]:
        assert keys.dest_limit_key(destination["dest_hash"]) == destination["dest_limit_key"]
    for ip in VECTORS["client_ips"]:
        assert keys.ip_limit_key(ip["ip_hash"]) == ip["ip_limit_key"]
    for idem in VECTORS["idempotency_keys_v2"]:
        assert keys.idempotency_key(idem["idem_hash"]) == idem["key"]
    for seal in VECTORS["seals"]:
        assert keys.record_key(seal["verification_id"]) == seal["record_key"]
    streams = VECTORS["streams"]
    ours = (keys.OUTBOX_STREAM, keys.OUTBOX_GROUP, keys.DEAD_LETTER_STREAM, keys.EVENTS_STREAM,
            keys.MONOLITH_EVENTS_GROUP)
    names = ("outbox", "outbox_group", "dead_letter", "events", "monolith_events_group")
    assert ours == tuple(streams[name] for name in names)


def test_verification_member_order_and_values() -> None:
    """An empty `reference` renders `reference: null`, placed after `locale`."""
    rendered = render_verification(snapshot_from_hash(HASH))
    assert json.dumps(rendered, separators=(",", ":")) == (
        '{"id":"VE0123456789abcdef0123456789abcdef","to":"+14155550100","channel":"sms",'
        '"locale":null,"reference":null,"status":"pending","send_attempts":2,"check_attempts":1,'
        '"created_at":"2026-11-28T16:33:09.120Z","expires_at":"2026-11-28T16:43:09.120Z"}'
    )


def test_a_v2_records_reference_is_rendered_and_empty_is_null() -> None:
    v2 = {**HASH, "reference": "order 42"}
    assert render_verification(snapshot_from_hash(v2))["reference"] == "order 42"
    assert render_verification(snapshot_from_hash({**v2, "reference": ""}))["reference"] is None


def test_locale_kept_and_status_override() -> None:
    snapshot = snapshot_from_hash({**HASH, "locale": "pt-BR"})
    rendered = render_verification(snapshot, "expired")
    assert (rendered["locale"], rendered["status"]) == ("pt-BR", "expired")


@pytest.mark.parametrize(
    ("status", "now", "expected"),
    [("pending", 1795884189119, "pending"), ("pending", 1795884189120, "expired"),
     ("approved", 1795899999999, "approved"), ("canceled", 0, "canceled")],
)
def test_effective_status(status: str, now: int, expected: str) -> None:
    assert effective_status(snapshot_from_hash({**HASH, "status": status}), now) == expected


def test_check_result() -> None:
    result = render_check_result("VE" + "a" * 32, "+14155550100", "sms", "approved", 2, 5)
    assert list(result) == ["verification_id", "to", "channel", "status", "valid",
                            "check_attempts", "remaining_attempts"]
    assert (result["valid"], result["remaining_attempts"]) == (True, 3)
    wrong = render_check_result("VE" + "a" * 32, "+1", "sms", "max_attempts_reached", 7, 5)
    assert (wrong["valid"], wrong["remaining_attempts"]) == (False, 0)
