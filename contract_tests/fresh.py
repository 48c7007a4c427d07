"""Fresh test data: every test gets its own destinations and client IP, so tests are independent
and rate limits never collide, even when several runs of the suite share one Redis at once (the
contract stage runs its targets side by side).

Random values would collide (a few thousand draws from 131,072 addresses meet by the birthday
bound), so each run takes its own slice of each space (CONTRACT_NAMESPACE, 0-15, which the
contract stage gives each target; random otherwise) and counts through it.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
import secrets

# RFC 2544 benchmarking range: never a real client, so counts in Redis are the suite's own.
FAKE_CLIENT_NETWORK = ipaddress.ip_network("198.18.0.0/15")
NAMESPACES = 16


def _namespace() -> int:
    given = os.environ.get("CONTRACT_NAMESPACE", "")
    return int(given) % NAMESPACES if given.isdigit() else secrets.randbelow(NAMESPACES)


NAMESPACE = _namespace()
_IP_SLICE = (FAKE_CLIENT_NETWORK.num_addresses - 2) // NAMESPACES
_ips = itertools.count(secrets.randbelow(_IP_SLICE // 2))
_phones = itertools.count(secrets.randbelow(100_000))


def fresh_ip() -> str:
    offset = NAMESPACE * _IP_SLICE + next(_ips) % _IP_SLICE + 1
    return str(FAKE_CLIENT_NETWORK.network_address + offset)


# US area codes in which every exchange 200-999 is a valid FIXED_LINE_OR_MOBILE number for
# phonenumbers (tests/unit/contract/test_fresh_phones.py checks it): 12 x 8,000,000 numbers.
US_AREA_CODES = ("201", "202", "206", "212", "213", "303", "305", "312", "415", "512", "617", "646")


def fresh_phone() -> str:
    """A valid US mobile-capable number (SMS is refused to invalid, toll-free or premium ones),
    from this run's slice: 50 exchanges of every area code (the namespace picks which 50), counted
    through, so no two runs at once and no two calls of one run share a number."""
    serial = next(_phones)
    line, serial = serial % 10_000, serial // 10_000
    exchange, serial = 200 + NAMESPACE * 50 + serial % 50, serial // 50
    return f"+1{US_AREA_CODES[serial % len(US_AREA_CODES)]}{exchange}{line:04d}"


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
