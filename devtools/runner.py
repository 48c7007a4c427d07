"""`./dev run`: every component under honcho's process manager, with prefixed coloured output.

Ctrl-C (or SIGTERM) stops everything: honcho signals each process group, then kills what is
left after a few seconds. Options: --workers N (monolith), --no-gateway, --free-ports.
"""

from __future__ import annotations

import argparse
import os
import shlex
import socket
import sys
import threading
import time
from collections.abc import Sequence

from honcho.manager import Manager

from devtools.components import RUN_PORTS, Component, Ports, components, free_ports
from devtools.stack import is_ready


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="./dev run", description=__doc__)
    parser.add_argument("--workers", type=int, default=None, help="monolith workers (cores)")
    parser.add_argument("--no-gateway", action="store_true", help="do not start the gateway")
    parser.add_argument("--free-ports", action="store_true", help="any free ports (for tests)")
    args = parser.parse_args(argv)
    ports = free_ports() if args.free_ports else RUN_PORTS
    external_redis = os.environ.get("REDIS_URL") or None
    parts = components(ports, external_redis=external_redis, workers=args.workers,
                       gateway=False if args.no_gateway else None)
    busy = [c for c in parts if c.port and _in_use(c.port)]
    if ports.inbox_smtp and _in_use(ports.inbox_smtp):
        busy.append(Component("devinbox SMTP", (), ports.inbox_smtp))
    if busy:
        for c in busy:
            print(f"dev run: port {c.port} ({c.name}) is already in use. Is another ./dev run "
                  "going? Stop it, or free the port.", file=sys.stderr)
        return 1
    print(url_table(parts, ports, external_redis), flush=True)
    manager = Manager()
    for part in parts:
        command = "exec " + shlex.join(part.argv)
        # Like the Stack's phases: each waits for what the earlier phases serve (Redis first).
        earlier = [c.ready for c in parts if c.phase < part.phase and c.ready]
        if external_redis and part.phase > 0:
            earlier.insert(0, external_redis)
        if earlier:
            wait = shlex.join([sys.executable, "-m", "devtools.wait_for", "--timeout", "60",
                               *earlier])
            command = f"{wait} && {command}"
        manager.add_process(part.name, command, env={**os.environ, **part.env}, cwd=os.getcwd())
    threading.Thread(target=_announce_ready, args=(parts, ports), daemon=True).start()
    manager.loop()
    return int(manager.returncode or 0)


def url_table(parts: Sequence[Component], ports: Ports, external_redis: str | None) -> str:
    rows = [("component", "listens on")]
    for part in parts:
        if part.name == "redis":
            rows.append((part.name, str(part.ready) + "  (embedded, nothing saved)"))
        elif part.name == "devinbox":
            smtp = f"SMTP 127.0.0.1:{ports.inbox_smtp}"
            rows.append((part.name, f"{part.url}/  (inbox page; {smtp})"))
        elif part.name == "gateway":
            rows.append((part.name, f"{part.url}  (status page {part.url}/__gateway/)"))
        else:
            rows.append((part.name, part.url or "(worker, no port)"))
    if external_redis:
        rows.append(("redis", f"{external_redis}  (REDIS_URL, not started here)"))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"  {name:<{width}}  {where}" for name, where in rows) + "\n"


def _announce_ready(parts: Sequence[Component], ports: Ports, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    waiting = [p for p in parts if p.ready]
    while waiting and time.monotonic() < deadline:
        waiting = [p for p in waiting if not is_ready(p, time.monotonic())]
        time.sleep(0.2)
    if waiting:
        print(f"dev run: still not ready: {', '.join(p.name for p in waiting)}", flush=True)
    else:
        print(f"dev run: all {len(parts)} components ready; the inbox is at "
              f"http://127.0.0.1:{ports.inbox_http}/ - Ctrl-C stops everything", flush=True)


def _in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
