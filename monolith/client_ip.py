"""The client IP of docs/api.md: walk X-Forwarded-For plus the peer from the right."""

from __future__ import annotations

import ipaddress

from monolith.settings import IpNetwork

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse(text: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def resolve_client_ip(
    forwarded_for: str | None, peer: str | None, trusted: tuple[IpNetwork, ...]
) -> str:
    """The first address from the right that is not a trusted proxy; the leftmost if all are.

    Entries that are not IP addresses are skipped: a trusted proxy appends the real peer to the
    right of anything a client wrote, so skipping them never lets a client choose its IP. The
    result is the address as text, IPv6 compressed.
    """
    peer_address = _parse(peer or "")
    if peer_address is None:  # no IP peer (a unix socket): nothing to walk from
        return (peer or "").strip() or "unknown"
    chain = [_parse(part) for part in (forwarded_for or "").split(",")]
    addresses = [address for address in chain if address is not None] + [peer_address]
    for address in reversed(addresses):
        if not _is_trusted(address, trusted):
            return str(address)
    return str(addresses[0])


def _is_trusted(address: IpAddress, trusted: tuple[IpNetwork, ...]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)
