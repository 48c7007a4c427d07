"""Header work the ALB does on the way to a target: hop-by-hop, X-Forwarded-*, trace id."""

from __future__ import annotations

import random
import secrets
import time

from multidict import CIMultiDict, CIMultiDictProxy, MultiMapping

from routing.gateway.alb_settings import XffMode

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                        "te", "trailer", "transfer-encoding", "upgrade", "proxy-connection"})

REPLACED = frozenset({"x-forwarded-for", "x-forwarded-proto", "x-forwarded-port",
                      "x-amzn-trace-id"})


DROPPED_UPSTREAM = HOP_BY_HOP | REPLACED
NONE: frozenset[str] = frozenset()


# A trace id must be unique, not secret: a seeded generator spares a getrandom() per request.
_trace_rng = random.Random(secrets.randbits(128))  # noqa: S311


def _new_trace_part() -> str:
    return f"1-{int(time.time()):08x}-{_trace_rng.getrandbits(96):024x}"


def trace_id(incoming: str | None) -> str:
    """ALB: no header -> a new Root; a Root present -> kept, with Self= added or replaced."""
    if not incoming or "Root=" not in incoming:
        return f"Root={_new_trace_part()}"
    fields = [f.strip() for f in incoming.split(";") if f.strip()]
    fields = [f for f in fields if not f.startswith("Self=")]
    return ";".join([f"Self={_new_trace_part()}", *fields])


def _connection_named(headers: MultiMapping[str]) -> frozenset[str]:
    """The header names a Connection header lists (hop-by-hop for this one connection)."""
    values = headers.getall("Connection", ())
    return frozenset(t.strip().lower() for v in values for t in v.split(",")) if values else NONE


def upstream_headers(incoming: CIMultiDictProxy[str], peer: str, proto: str, port: str,
                     xff_mode: XffMode = "append") -> CIMultiDict[str]:
    """xff_mode as ALB's routing.http.xff_header_processing.mode: `append` the peer to what came
    in, `preserve` it as received (none added when absent), or `remove` it."""
    connection_named = _connection_named(incoming)
    out: CIMultiDict[str] = CIMultiDict()
    received: list[str] = []
    incoming_trace: str | None = None
    # One pass: what is forwarded, and what the replaced headers carried.
    for name, value in incoming.items():
        lower = name.lower()
        if lower in DROPPED_UPSTREAM:
            if lower == "x-forwarded-for":
                if value.strip():
                    received.append(value)
            elif lower == "x-amzn-trace-id" and incoming_trace is None:
                incoming_trace = value
        elif lower not in connection_named:
            out.add(name, value)
    if xff_mode == "append":
        out.add("X-Forwarded-For", ", ".join([*received, peer]))
    elif xff_mode == "preserve":
        for value in received:
            out.add("X-Forwarded-For", value)
    out.add("X-Forwarded-Proto", proto)
    out.add("X-Forwarded-Port", port)
    out.add("X-Amzn-Trace-Id", trace_id(incoming_trace))
    return out


def downstream_headers(upstream: MultiMapping[str]) -> CIMultiDict[str]:
    connection_named = _connection_named(upstream)
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in upstream.items():
        lower = name.lower()
        if lower not in HOP_BY_HOP and lower not in connection_named:
            out.add(name, value)
    return out
