"""The client IP of docs/api.md ("Client IP"): walk X-Forwarded-For from the peer leftwards.

The monolith resolves it with its own code (monolith/client_ip.py); both follow the one walk in
docs/api.md and are held to the same cases (docs/storage-contract-vectors.json, client_ip_walks).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Sequence

from kit.settings import IPNetwork

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The peer when the server has no IP peer (a Unix socket): one shared, visible budget.
NO_PEER = ipaddress.IPv4Address("0.0.0.0")
OWS = " \t"  # RFC 9110 optional whitespace around list elements
IPV4_WITH_PORT = re.compile(r"([0-9.]+):[0-9]{1,5}")
BRACKETED_IPV6 = re.compile(r"\[([^\]]*)\](?::[0-9]{1,5})?")


# Remembered: the peers (proxies) and returning clients are parsed once. Only entries short
# enough to be an address (the longest, `[v6 ending in v4]:port`, has 53 characters), so the
# memory held stays small whatever a client sends.
CACHED_ENTRY_CHARS = 64


def parse_entry(text: str) -> IPAddress | None:
    """One X-Forwarded-For entry as an address, or None when it is not one (`unknown`, junk).

    Accepted: an IPv4 or IPv6 address, `a.b.c.d:port`, `[v6]` and `[v6]:port`; the port is
    dropped. An IPv4-mapped IPv6 address is its IPv4 address (an IPv4 client seen through an
    IPv6 socket is the same client). IPv6 zone ids (`%eth0`) are not addresses of a client.
    """
    return _remembered(text) if len(text) <= CACHED_ENTRY_CHARS else _parse_entry(text)


def _parse_entry(text: str) -> IPAddress | None:
    """parse_entry's answer, worked out."""
    if match := IPV4_WITH_PORT.fullmatch(text):
        return _ipv4(match.group(1))
    if match := BRACKETED_IPV6.fullmatch(text):
        return _ipv6(match.group(1))
    return _ipv4(text) or _ipv6(text)


_remembered = functools.lru_cache(maxsize=4096)(_parse_entry)


def _ipv4(text: str) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        return None


def _ipv6(text: str) -> IPAddress | None:
    if "%" in text:
        return None
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        return None
    return address.ipv4_mapped or address


def client_ip(
    forwarded_for: Iterable[str], peer: str | None, trusted: Sequence[IPNetwork]
) -> str:
    """The client's address as text (IPv6 compressed): docs/api.md "Client IP", step by step.

    Start at the TCP peer; while the address examined is a trusted proxy, step left through the
    X-Forwarded-For entries (every header, in order). Empty entries are skipped. An entry that is
    not an address ends the walk at the proxy that passed it on: everything further left was
    written by someone no trusted proxy vouches for. Running out of entries ends it the same way.
    """
    examined = parse_entry((peer or "").strip(OWS)) or NO_PEER
    entries = [entry.strip(OWS) for header in forwarded_for for entry in header.split(",")]
    for entry in reversed(entries):
        if not _is_trusted(examined, trusted):
            break
        if not entry:
            continue
        address = parse_entry(entry)
        if address is None:
            break
        examined = address
    return str(examined)


def _is_trusted(address: IPAddress, trusted: Sequence[IPNetwork]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)
