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
from collections.abc import Iterator
from dataclasses import dataclass

# RFC 2544 benchmarking range: never a real client, so counts in Redis are the suite's own.
FAKE_CLIENT_NETWORK = ipaddress.ip_network("198.18.0.0/15")
NAMESPACES = 16


def _namespace() -> int:
    given = os.environ.get("CONTRACT_NAMESPACE", "")
    return int(given) % NAMESPACES if given.isdigit() else secrets.randbelow(NAMESPACES)


NAMESPACE = _namespace()
_IP_SLICE = (FAKE_CLIENT_NETWORK.num_addresses - 2) // NAMESPACES
_ips = itertools.count(secrets.randbelow(_IP_SLICE // 2))


def fresh_ip() -> str:
    offset = NAMESPACE * _IP_SLICE + next(_ips) % _IP_SLICE + 1
    return str(FAKE_CLIENT_NETWORK.network_address + offset)


# US area codes (in use since the 1990s, so every phonenumbers release knows them) in which every
# exchange 200-999 is a valid FIXED_LINE_OR_MOBILE number for phonenumbers
# (tests/unit/contract/test_fresh_phones.py checks it).
_AREA_CODES_TEXT = """
201 202 203 205 206 207 208 209 210 212 213 214 215 216 217 218 219 248 253 254 256 281 301 302
303 304 305 307 308 309 310 312 313 314 315 316 317 318 319 320 330 334 336 352 360 401 402 404
405 406 407 408 409 410 412 413 414 415 417 419 423 425 435 440 501 502 503 504 505 507 508 509
510 512 513 515 516 517 518 520 530 540 541 561 562 570 573 601 602 603 605 606 607 608 609 610
612 614 615 616 617 618 619 626 630 650 651 660 661 701 702 703 704 706 707 708 712 713 714 715
716 717 718 719 720 724 727 732 734 740 757 760 770 773 775 781 785 801 802 803 804 805 806 808
810 812 813 814 815 816 817 818 828 830 831 843 847 850 856 858 860 864 901 903 904 906 907 908
909 910 912 913 914 915 916 917 918 919 920 925 931 937 940 941 949 954 956 970 972 973 978
"""
US_AREA_CODES = tuple(_AREA_CODES_TEXT.split())
EXCHANGES_PER_NAMESPACE = 50  # 200-999 in 16 slices
# The last exchanges of each slice are kept for fresh_prefix_numbers: fresh_phone never uses them.
RESERVED_EXCHANGES = 5
LINES = 10_000  # the last 4 digits: a number's prefix is the number without them


@dataclass(frozen=True)
class PhoneSlice:
    """A namespace's share of the numbers: its 50 exchanges of every area code. fresh_phone
    counts through the first 45 (area code fastest, then exchange, the line last), so consecutive
    numbers have distinct prefixes (docs/api.md "SMS-pumping guards": the number without its last
    4 digits) and a prefix comes round again only after `phone_prefixes` numbers; the last 5
    exchanges are prefixes reserved for tests of the prefix guards."""

    namespace: int

    @property
    def phone_prefixes(self) -> int:
        return len(US_AREA_CODES) * (EXCHANGES_PER_NAMESPACE - RESERVED_EXCHANGES)

    @property
    def reserved_prefixes(self) -> int:
        return len(US_AREA_CODES) * RESERVED_EXCHANGES

    def _prefix(self, exchange_in_slice: int, area: int) -> str:
        exchange = 200 + self.namespace * EXCHANGES_PER_NAMESPACE + exchange_in_slice
        return f"+1{US_AREA_CODES[area]}{exchange}"

    def phone(self, serial: int) -> str:
        """The `serial`-th number of the slice (wrapping after phone_prefixes * LINES)."""
        area, serial = serial % len(US_AREA_CODES), serial // len(US_AREA_CODES)
        exchange = serial % (EXCHANGES_PER_NAMESPACE - RESERVED_EXCHANGES)
        line = serial // (EXCHANGES_PER_NAMESPACE - RESERVED_EXCHANGES) % LINES
        return f"{self._prefix(exchange, area)}{line:04d}"

    def reserved_prefix(self, serial: int) -> str:
        """The `serial`-th reserved prefix of the slice (wrapping after reserved_prefixes)."""
        area, serial = serial % len(US_AREA_CODES), serial // len(US_AREA_CODES)
        return self._prefix(EXCHANGES_PER_NAMESPACE - RESERVED_EXCHANGES
                            + serial % RESERVED_EXCHANGES, area)


_SLICE = PhoneSlice(NAMESPACE)
_phones = itertools.count(secrets.randbelow(_SLICE.phone_prefixes * LINES))
_reserved = itertools.count(secrets.randbelow(_SLICE.reserved_prefixes))


def fresh_phone() -> str:
    """A valid US mobile-capable number (SMS is refused to invalid, toll-free or premium ones),
    from this run's slice: no two runs at once and no two calls of one run share a number, and a
    prefix comes round again only after 8,595 calls (more than a run makes), so the prefix guards
    never count two tests' sends together."""
    return _SLICE.phone(next(_phones))


def fresh_prefix_numbers() -> tuple[str, Iterator[str]]:
    """A number prefix for one test alone (fresh_phone never hands out a number of it, nor does
    another call of this in this run), and distinct numbers under it (all 10,000, from a random
    one on). Another run sharing the namespace (one Redis, at another time) may have used it."""
    prefix = _SLICE.reserved_prefix(next(_reserved))
    first = secrets.randbelow(LINES)
    return prefix, (f"{prefix}{(first + n) % LINES:04d}" for n in range(LINES))


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
