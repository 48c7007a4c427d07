"""`python -m devinbox --host 127.0.0.1 --http-port 8025 --smtp-port 1025 [--max-messages N]`."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from devinbox.server import InboxConfig, serve
from devinbox.store import DEFAULT_CAPACITY
from kit import event_loop, logs


def parse_args(argv: list[str], environ: dict[str, str]) -> InboxConfig:
    parser = argparse.ArgumentParser(prog="python -m devinbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--http-port", type=int, default=8025)
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument(
        "--max-messages",
        type=int,
        default=int(environ.get("DEVINBOX_MAX_MESSAGES", DEFAULT_CAPACITY)),
        help="messages kept in memory, oldest forgotten first (env DEVINBOX_MAX_MESSAGES)",
    )
    args = parser.parse_args(argv)
    if args.max_messages < 1:
        parser.error("--max-messages must be at least 1")
    return InboxConfig(
        host=args.host,
        http_port=args.http_port,
        smtp_port=args.smtp_port,
        capacity=args.max_messages,
    )


def main(argv: list[str] | None = None) -> int:
    logs.configure(os.environ.get("LOG_LEVEL", "INFO"))
    logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd logs every SMTP command
    config = parse_args(sys.argv[1:] if argv is None else argv, dict(os.environ))
    try:
        event_loop.run(serve(config))
    except OSError as exc:
        print(
            f"devinbox: cannot listen on {config.host} (HTTP {config.http_port}, "
            f"SMTP {config.smtp_port}): {exc}. Is another inbox running? Pick other ports.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
