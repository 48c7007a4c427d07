"""Client IP resolution of docs/api.md, against the walks both sides share (golden vectors)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from monolith.client_ip import parse_entry, resolve_client_ip
from monolith.settings import parse_trusted_proxies

VECTORS_PATH = Path(__file__).resolve().parents[3] / "docs" / "storage-contract-vectors.json"
WALKS: list[dict[str, Any]] = json.loads(VECTORS_PATH.read_text("utf-8"))["client_ip_walks"]


@pytest.mark.parametrize("walk", WALKS, ids=lambda w: f"{w['forwarded_for']!r} via {w['peer']}")
def test_every_shared_walk(walk: dict[str, Any]) -> None:
    trusted = parse_trusted_proxies(walk["trusted_proxies"])
    assert resolve_client_ip(walk["forwarded_for"], walk["peer"], trusted) == walk["client"]


def test_an_untrusted_loopback_client_cannot_choose_its_ip() -> None:
    """The local stack trusts only 127.0.0.1 and ::1: a client bound to 127.0.0.2 is itself."""
    trusted = parse_trusted_proxies("127.0.0.1/32,::1/128")
    assert resolve_client_ip(["198.18.0.9"], "127.0.0.2", trusted) == "127.0.0.2"
    assert resolve_client_ip(["198.18.0.9, 127.0.0.2"], "127.0.0.1", trusted) == "127.0.0.2"


@pytest.mark.parametrize(
    ("entry", "address"),
    [("203.0.113.7", "203.0.113.7"), ("203.0.113.7:65535", "203.0.113.7"),
     ("[2001:db8::7]:1", "2001:db8::7"), ("::FFFF:203.0.113.7", "203.0.113.7"),
     ("203.0.113.7:123456", None), ("[2001:db8::7]:", None), ("[]", None), ("", None),
     ("unknown", None), ("1.2.3", None), ("[fe80::1%25eth0]", None)],
)
def test_entries(entry: str, address: str | None) -> None:
    parsed = parse_entry(entry)
    assert (None if parsed is None else str(parsed)) == address
