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
