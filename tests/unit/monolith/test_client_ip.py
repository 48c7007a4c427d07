"""Client IP resolution of docs/api.md: X-Forwarded-For plus the peer, walked from the right."""

from __future__ import annotations

import pytest

from monolith.client_ip import resolve_client_ip
from monolith.settings import parse_trusted_proxies

TRUSTED = parse_trusted_proxies("10.0.0.0/8, 192.168.1.1/32, fd00::/8")


@pytest.mark.parametrize(
    ("forwarded_for", "peer", "expected"),
    [
        (None, "203.0.113.7", "203.0.113.7"),
        ("198.51.100.1", "203.0.113.7", "203.0.113.7"),  # untrusted peer: header ignored
        ("198.51.100.1", "10.0.0.5", "198.51.100.1"),
        ("1.1.1.1, 198.51.100.1", "10.0.0.5", "198.51.100.1"),  # spoofed left part ignored
        ("198.51.100.1, 10.1.2.3", "192.168.1.1", "198.51.100.1"),  # two trusted hops
        ("10.0.0.9, 10.0.0.8", "10.0.0.5", "10.0.0.9"),  # all trusted: the leftmost
        (None, "10.0.0.5", "10.0.0.5"),
        ("2001:0db8:0000::0001", "fd00::1", "2001:db8::1"),  # IPv6, compressed form
        ("198.51.100.1, not-an-ip", "10.0.0.5", "198.51.100.1"),  # junk is skipped
        ("", "10.0.0.5", "10.0.0.5"),
    ],
)
def test_resolution(forwarded_for: str | None, peer: str, expected: str) -> None:
    assert resolve_client_ip(forwarded_for, peer, TRUSTED) == expected


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert resolve_client_ip("198.51.100.1", "10.0.0.5", ()) == "10.0.0.5"


def test_a_peer_that_is_not_an_address_is_used_as_given() -> None:
    assert resolve_client_ip("198.51.100.1", "", TRUSTED) == "unknown"
