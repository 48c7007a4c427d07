"""`source-ip`: CIDR blocks of the connection's peer."""

from __future__ import annotations

from typing import Any

from routing.conditions.source_ip import SourceIp

from .helpers import assert_refused, hit, shadow_count


def test_source_ip_is_a_cidr_of_the_peer() -> None:
    cond = (SourceIp(("10.0.0.0/8", "::1/128")),)
    assert hit(cond, source_ip="10.1.2.3") and hit(cond, source_ip="::1")
    assert not hit(cond, source_ip="127.0.0.1")
    assert not hit(cond, source_ip="127.0.0.1", headers=(("X-Forwarded-For", "10.0.0.1"),))


def test_a_cidr_with_host_bits_is_refused(raw: dict[str, Any]) -> None:
    assert_refused(raw, {"field": "source-ip", "values": ["10.0.0.1/8"]},
                   "conditions[0].values[0]")


def test_source_ip_coverage() -> None:
    assert shadow_count(SourceIp(("10.0.0.0/8",)), SourceIp(("10.1.0.0/16",))) == 1
