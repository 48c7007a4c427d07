"""Count the Redis commands a server sends per request, from MONITOR on a dedicated Redis.

The harness brackets each phase with `ECHO bench:phase:<name>` and ends with `ECHO bench:stop`.
Commands run inside Lua scripts appear in MONITOR as client "lua"; they are not round trips and
are left out. Only commands sent over a client connection count.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import redis

MARKER = "bench:phase:"
STOP = "bench:stop"


@dataclass(frozen=True)
class Seen:
    client_type: str  # "tcp", "unix", "lua", ...
    command: str  # the command line as MONITOR prints it, arguments space-separated


def split_phases(entries: Iterable[Seen]) -> dict[str, Counter[str]]:
    """Per phase, client-issued commands by upper-case name (markers and Lua calls left out)."""
    phases: dict[str, Counter[str]] = {}
    current: Counter[str] | None = None
    for seen in entries:
        words = seen.command.split(" ", 2)
        name = words[0].upper()
        if name == "ECHO" and len(words) > 1 and words[1].startswith(MARKER):
            current = phases.setdefault(words[1][len(MARKER):], Counter())
            continue
        if name == "ECHO" and len(words) > 1 and words[1] == STOP:
            current = None
            continue
        if current is not None and seen.client_type != "lua" and name != "MONITOR":
            current[name] += 1
    return phases


@dataclass
class Recorder:
    """MONITOR in a background thread until the STOP marker is seen."""

    url: str
    seen: list[Seen] = field(default_factory=list)
    _thread: threading.Thread | None = None
    _ready: threading.Event = field(default_factory=threading.Event)

    def _listen(self) -> None:
        client = redis.Redis.from_url(self.url, decode_responses=True)
        try:
            with client.monitor() as monitor:  # type: ignore[no-untyped-call]
                self._ready.set()
                while True:
                    entry = monitor.next_command()
                    seen = Seen(str(entry["client_type"]), str(entry["command"]))
                    self.seen.append(seen)
                    if seen.command == f"ECHO {STOP}":
                        break
        except redis.ConnectionError:
            pass  # the server went away: what was seen so far is all there is
        finally:
            client.close()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("MONITOR did not start within 5s")

    def stop(self, client: redis.Redis) -> dict[str, Counter[str]]:
        client.echo(STOP)
        if self._thread is not None:
            self._thread.join(10)
        return split_phases(self.seen)


def mark(client: redis.Redis, phase: str) -> None:
    client.echo(MARKER + phase)
