"""Client IP: walk X-Forwarded-For plus the peer from the right, skipping trusted proxies."""

from __future__ import annotations

import pytest

from kit.settings import parse_networks
from services.web.client_ip import client_ip

TRUSTED = parse_networks("10.0.0.0/8, 2001:db8:ffff::/48")


@pytest.mark.parametrize(
    ("headers", "peer", "trusted", "expected"),
    [
        ([], "203.0.113.7", (), "203.0.113.7"),
        (["198.51.100.1"], "203.0.113.7", (), "203.0.113.7"),  # untrusted peer: header ignored
        (["198.51.100.1"], "10.0.0.5", TRUSTED, "198.51.100.1"),
        (["1.1.1.1, 198.51.100.1"], "10.0.0.5", TRUSTED, "198.51.100.1"),  # spoofed left part
        (["1.1.1.1, 198.51.100.1, 10.1.1.1"], "10.0.0.5", TRUSTED, "198.51.100.1"),
        (["1.1.1.1", "198.51.100.1"], "10.0.0.5", TRUSTED, "198.51.100.1"),  # repeated header
        (["10.2.2.2, 10.1.1.1"], "10.0.0.5", TRUSTED, "10.2.2.2"),  # all trusted: leftmost
        ([], "10.0.0.5", TRUSTED, "10.0.0.5"),
        (["2001:0db8:0000:0000:0000:0000:0000:0001"], "10.0.0.5", TRUSTED, "2001:db8::1"),
        (["198.51.100.1"], "2001:db8:ffff::9", TRUSTED, "198.51.100.1"),
        (["not-an-ip"], "10.0.0.5", TRUSTED, "10.0.0.5"),  # garbage stops the walk
        (["198.51.100.1, junk"], "10.0.0.5", TRUSTED, "10.0.0.5"),
        (["  198.51.100.1  "], "10.0.0.5", TRUSTED, "198.51.100.1"),
        ([], "::ffff:203.0.113.7", (), "203.0.113.7"),
        ([], None, (), "0.0.0.0"),
    ],
)
def test_client_ip(
    headers: list[str], peer: str | None, trusted: tuple[object, ...], expected: str
) -> None:
    assert client_ip(headers, peer, trusted) == expected  # type: ignore[arg-type]
