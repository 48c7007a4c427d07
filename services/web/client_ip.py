"""The client IP of docs/api.md: walk X-Forwarded-For plus the peer from the right."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from kit.settings import IPNetwork

UNKNOWN_PEER = "0.0.0.0"


def _parse(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket is the same client.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_ip(
    forwarded_for: Iterable[str], peer: str | None, trusted: Sequence[IPNetwork]
) -> str:
    """The first address from the right not in `trusted`; the leftmost when all are trusted.

    An entry that is not an address stops the walk: the address to its right (which forwarded it)
    is the best we know. Addresses are returned in canonical text (IPv6 compressed).
    """
    chain = [part for header in forwarded_for for part in header.split(",") if part.strip()]
    chain.append(peer or UNKNOWN_PEER)
    best: str | None = None
    for text in reversed(chain):
        address = _parse(text)
        if address is None:
            break
        best = str(address)
        if not any(address in network for network in trusted):
            return best
    return best if best is not None else (peer or UNKNOWN_PEER)
