"""`python -m devtools.wait_for URL... [--timeout S]`: block until each redis:// URL answers PING
and each http:// URL answers 200. `./dev run` puts it before components that need Redis."""

from __future__ import annotations

import argparse
import sys
import time

from devtools.components import Component
from devtools.stack import is_ready


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.wait_for")
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.timeout
    for url in args.urls:
        probe = Component("probe", (), ready=url)
        while not is_ready(probe, time.monotonic()):
            if time.monotonic() > deadline:
                print(f"wait_for: {url} not ready after {args.timeout:.0f}s", file=sys.stderr)
                return 1
            time.sleep(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
