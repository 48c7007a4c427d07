"""`./dev run`: every component on its well-known port, output prefixed by its name.

Components start phase by phase (Redis and the dev inbox first, the gateway last), each phase
ready before the next, as in tests. JSON log lines are shown readably. Ctrl-C (or SIGTERM) stops
everything; so does any component exiting on its own (its code is the run's exit code).
Options: --workers N (monolith), --no-gateway, --free-ports; --containers: the images instead
(devtools/containers.py: built first, Redis and every component as containers on a private
network, the gateway on 127.0.0.1:8080).
Every process reads its API keys from KEYRING_FILE (default .dev/keyring.json, the file
`./dev keys` writes); when there is none yet, one is created with a key for client `dev` and the key
is printed once, with the addresses.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from devtools import keys
from devtools.components import Ports, components, free_ports, run_ports
from devtools.processes import ProcessSpec, Stack, StartError
from kit.logs import readable

COLOURS = ("36", "33", "32", "35", "34", "31", "96", "93", "92")


class Console:
    """Prints each process's lines behind its name (coloured on a terminal), one lock for all."""

    def __init__(self, names: Sequence[str]) -> None:
        self.width = max(len(n) for n in names)
        colour = itertools.cycle(COLOURS)
        tty = sys.stdout.isatty()
        self.prefix = {n: (f"\033[{next(colour)}m{n:<{self.width}} |\033[0m" if tty
                           else f"{n:<{self.width}} |") for n in names}
        self.lock = threading.Lock()

    def line(self, name: str, text: str) -> None:
        with self.lock:
            print(f"{self.prefix.get(name, name)} {readable(text)}", flush=True)

    def system(self, text: str) -> None:
        self.line("system", text) if "system" in self.prefix else print(text, flush=True)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="./dev run", description=__doc__)
    parser.add_argument("--workers", type=int, default=None, help="monolith workers (cores)")
    parser.add_argument("--no-gateway", action="store_true", help="do not start the gateway")
    parser.add_argument("--free-ports", action="store_true", help="any free ports (for tests)")
    parser.add_argument("--containers", action="store_true",
                        help="run the images (./dev images) as containers instead")
    args = parser.parse_args(argv)
    if args.containers:
        return run_containers()
    ports = free_ports() if args.free_ports else run_ports()
    external_redis = os.environ.get("REDIS_URL") or None
    keyring_file = keys.keyring_file()
    specs = components(ports, external_redis=external_redis, keyring_file=keyring_file,
                       workers=args.workers, gateway=not args.no_gateway)
    busy = [name for name, port in ports.items()
            if _in_use(port) and (name != "redis" or not external_redis)
            and (name != "gateway" or not args.no_gateway)]
    if busy:
        for name in busy:
            print(f"dev run: port {ports[name]} ({name}) is already in use. Is another "
                  "./dev run going? Stop it, or free the port.", file=sys.stderr)
        return 1
    try:
        first_key = ensure_keyring(keyring_file)
    except keys.KeyringError as error:
        print(f"dev run: {error}", file=sys.stderr)
        return 1
    print(url_table(specs, ports, external_redis), flush=True)
    print_key(first_key, keyring_file)
    return supervise(specs, ready=f"the inbox is at http://127.0.0.1:{ports['devinbox']}/")


def print_key(first_key: str | None, keyring_file: Path) -> None:
    if first_key:
        print(f"  API key (shown once): {first_key}\n  (client dev, all scopes, in {keyring_file};"
              " send it as 'Authorization: Bearer <key>'; more with ./dev keys create NAME)\n",
              flush=True)
    else:
        print(f"  API keys: {keyring_file} (./dev keys list; ./dev keys create NAME)\n",
              flush=True)


def run_containers() -> int:
    from devtools import containers, images
    from infra.components import by_name
    from infra.containers import PUBLISHED

    busy = [name for name in PUBLISHED if _in_use(by_name(name).port or 0)]
    if busy:
        for name in busy:
            print(f"dev run: port {by_name(name).port} ({name}) is already in use. Is another "
                  "./dev run going? Stop it, or free the port.", file=sys.stderr)
        return 1
    keyring_file = keys.keyring_file()
    try:
        first_key = ensure_keyring(keyring_file)
        built = images.build()
    except (keys.KeyringError, images.ImageError) as error:
        print(f"dev run: {error}", file=sys.stderr)
        return 1
    with containers.network(f"kit-{os.getpid()}", keyring_file) as run:
        specs = containers.specs(run, built.images)
        print(containers.url_table(run, specs), flush=True)
        print_key(first_key, keyring_file)
        return supervise(specs, ready=f"images {built.tag}; the inbox is at "
                         f"http://127.0.0.1:{by_name('devinbox').port}/",
                         tick=lambda: containers.sync_keyring(keyring_file, run))


def supervise(specs: Sequence[ProcessSpec], *, ready: str,
              tick: Callable[[], None] = lambda: None) -> int:
    """Start the specs with their output on the console, until Ctrl-C, SIGTERM or one exits."""
    console = Console([s.name for s in specs] + ["system"])
    stack = Stack(specs, ready_timeout=60, output=console.line)
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    code = 0
    try:
        _start(stack, specs, console, stopping)
        if not stopping.is_set():
            console.system(f"all {len(specs)} components ready; {ready} - Ctrl-C stops "
                           "everything")
        while not stopping.wait(0.2):
            tick()
            exited = [p for p in stack.processes.values() if not p.alive]
            if exited:
                first = exited[0]
                code = first.returncode or 1
                console.system(f"{first.spec.name} exited with code {first.returncode}: "
                               "stopping everything")
                break
    except StartError as error:
        console.system(f"dev run: {error}")
        code = 1
    finally:
        console.system("stopping")
        for name, exit_code in stack.stop().items():
            console.system(f"{name} stopped (exit code {exit_code})")
    return code


def _start(stack: Stack, specs: Sequence[ProcessSpec], console: Console,
           stopping: threading.Event) -> None:
    """Like Stack.start, announcing each process, and giving up early on Ctrl-C."""
    for phase in sorted({s.phase for s in specs}):
        batch = [s for s in specs if s.phase == phase]
        for spec in batch:
            process = stack.launch(spec.name)
            console.system(f"{spec.name} started (pid={process.pid})")
        deadline = time.monotonic() + stack.ready_timeout
        for spec in batch:
            while not stopping.is_set():
                try:
                    stack.processes[spec.name].wait_ready(min(deadline, time.monotonic() + 0.5),
                                                          f"{stack.ready_timeout:.0f}s")
                    break
                except StartError:
                    if time.monotonic() > deadline or not stack.processes[spec.name].alive:
                        raise
            if stopping.is_set():
                return


def ensure_keyring(path: Path) -> str | None:
    """The key of a keyring created at `path` (client `dev`, all scopes), or None when one is
    there already (checked: a broken one would stop every server at start)."""
    store = keys.FileStore(path)
    if path.exists():
        store.load()
        return None
    key, token = keys.new_key("dev")
    store.save(keys.Keyring((key,)))
    return token


def url_table(specs: Sequence[ProcessSpec], ports: Ports, external_redis: str | None) -> str:
    rows = [("component", "listens on")]
    for spec in specs:
        if spec.name == "redis":
            rows.append((spec.name, f"redis://127.0.0.1:{spec.port}/0  (embedded, nothing saved)"))
        elif spec.name == "devinbox":
            smtp = f"SMTP 127.0.0.1:{ports['devinbox.smtp_port']}"
            rows.append((spec.name, f"{spec.url}/  (inbox page; {smtp})"))
        elif spec.name == "gateway":
            rows.append((spec.name, f"{spec.url}  (status page {spec.url}/__gateway/)"))
        else:
            rows.append((spec.name, spec.url or "(worker, no port)"))
    if external_redis:
        rows.append(("redis", f"{external_redis}  (REDIS_URL, not started here)"))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"  {name:<{width}}  {where}" for name, where in rows) + "\n"


def _in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
