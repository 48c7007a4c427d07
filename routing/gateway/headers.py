"""Header work the ALB does on the way to a target: hop-by-hop, X-Forwarded-*, trace id."""

from __future__ import annotations

import secrets
import time

from multidict import CIMultiDict, CIMultiDictProxy

from routing.gateway.alb_settings import XffMode

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                        "te", "trailer", "transfer-encoding", "upgrade", "proxy-connection"})

REPLACED = frozenset({"x-forwarded-for", "x-forwarded-proto", "x-forwarded-port",
                      "x-amzn-trace-id"})


def _new_trace_part() -> str:
    return f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def trace_id(incoming: str | None) -> str:
    """ALB: no header -> a new Root; a Root present -> kept, with Self= added or replaced."""
    if not incoming or "Root=" not in incoming:
        return f"Root={_new_trace_part()}"
    fields = [f.strip() for f in incoming.split(";") if f.strip()]
    fields = [f for f in fields if not f.startswith("Self=")]
    return ";".join([f"Self={_new_trace_part()}", *fields])


def upstream_headers(incoming: CIMultiDictProxy[str], peer: str, proto: str, port: str,
                     xff_mode: XffMode = "append") -> CIMultiDict[str]:
    """xff_mode as ALB's routing.http.xff_header_processing.mode: `append` the peer to what came
    in, `preserve` it as received (none added when absent), or `remove` it."""
    connection_named = {t.strip().lower() for v in incoming.getall("Connection", [])
                        for t in v.split(",")}
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in incoming.items():
        lower = name.lower()
        if lower in HOP_BY_HOP or lower in connection_named or lower in REPLACED:
            continue
        out.add(name, value)
    received = [v for v in incoming.getall("X-Forwarded-For", []) if v.strip()]
    if xff_mode == "append":
        out["X-Forwarded-For"] = ", ".join([*received, peer])
    elif xff_mode == "preserve":
        for value in received:
            out.add("X-Forwarded-For", value)
    out["X-Forwarded-Proto"] = proto
    out["X-Forwarded-Port"] = port
    out["X-Amzn-Trace-Id"] = trace_id(incoming.get("X-Amzn-Trace-Id"))
    return out


def downstream_headers(upstream: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    connection_named = {t.strip().lower() for v in upstream.getall("Connection", [])
                        for t in v.split(",")}
    return CIMultiDict((k, v) for k, v in upstream.items()
                       if k.lower() not in HOP_BY_HOP and k.lower() not in connection_named)
