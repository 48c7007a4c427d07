"""`host-header`: case-insensitive, the port not compared."""

from __future__ import annotations

from routing.conditions.host_header import HostHeader

from .helpers import hit, shadow_count


def test_host_header_ignores_case_and_port() -> None:
    cond = (HostHeader(("*.Example.com",)),)
    assert hit(cond, headers=(("Host", "api.example.COM:8080"),))
    assert not hit(cond, headers=(("Host", "example.com"),))


def test_ipv6_literal_hosts_keep_their_brackets() -> None:
    cond = (HostHeader(("[::1]",)),)
    assert hit(cond, headers=(("Host", "[::1]:8080"),))


def test_a_wider_host_covers_a_narrower_one_in_any_case() -> None:
    assert shadow_count(HostHeader(("api.*",)), HostHeader(("API.Example.com",))) == 1
    assert shadow_count(HostHeader(("api.example.com",)), HostHeader(("api.*",))) == 0
