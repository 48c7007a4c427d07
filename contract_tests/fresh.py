"""Fresh, random test data: every test gets its own destinations and client IP, so tests are
independent and rate limits never collide (even across runs on one Redis)."""

from __future__ import annotations

import ipaddress
import secrets

# RFC 2544 benchmarking range: never a real client, so counts in Redis are the suite's own.
FAKE_CLIENT_NETWORK = ipaddress.ip_network("198.18.0.0/15")


def fresh_ip() -> str:
    offset = secrets.randbelow(FAKE_CLIENT_NETWORK.num_addresses - 2) + 1
    return str(FAKE_CLIENT_NETWORK.network_address + offset)


def fresh_phone() -> str:
    return "+1555" + "".join(str(secrets.randbelow(10)) for _ in range(7))


def fresh_email() -> str:
    return f"u{secrets.token_hex(6)}@example.test"


def fresh_id(prefix: str = "VE") -> str:
    return prefix + secrets.token_hex(16)


def wrong_code(right: str) -> str:
    """A code of the same length that is certainly not `right`."""
    return "".join(str((int(d) + 1) % 10) for d in right)


# IPv6 documentation range (RFC 3849): a fresh /64 of it is never a real client's network.
FAKE_CLIENT_NETWORK_V6 = ipaddress.ip_network("2001:db8::/32")


def fresh_ipv6_network() -> ipaddress.IPv6Network:
    prefix = int(FAKE_CLIENT_NETWORK_V6.network_address) | (secrets.randbits(32) << 64)
    return ipaddress.IPv6Network((prefix, 64))


def fresh_loopback_ip() -> str:
    """A loopback address other than 127.0.0.0/24 (127.0.0.1 is the trusted proxy of ./dev)."""
    return f"127.{secrets.randbelow(254) + 1}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
