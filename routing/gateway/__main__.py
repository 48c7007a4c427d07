"""`python -m routing.gateway --table routing/routes.toml --host 127.0.0.1 --port 8080`.

Target URLs come from the table; ROUTING_TARGET_<GROUP>_URL overrides a group's, comma-separated
(e.g. ROUTING_TARGET_SEND_URL=http://127.0.0.1:9002,http://127.0.0.1:9012). Other settings: see
settings.py and alb_settings.py.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from aiohttp import web

from kit import event_loop, logs
from kit.settings import SettingsError
from routing.gateway.alb_settings import AlbSettings
from routing.gateway.app import create_app, start
from routing.gateway.settings import GatewaySettings
from routing.table.problems import TableError

log = logging.getLogger("routing.gateway")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m routing.gateway", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", default="routing/routes.toml", help="the route table (TOML)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    logs.configure(os.environ.get("ROUTING_LOG_LEVEL", "INFO"))
    try:
        app = create_app(GatewaySettings.from_env(table_path=Path(args.table)),
                         AlbSettings.from_env())
    except SettingsError as error:
        print(f"gateway: {error}. Fix the environment and start again.", file=sys.stderr)
        return 2
    except TableError as error:
        for problem in error.problems:
            print(f"gateway: {args.table}: {problem}", file=sys.stderr)
        print("gateway: fix the table (python -m routing check) and start again", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"gateway: cannot read the table: {error}", file=sys.stderr)
        return 2
    event_loop.run(serve_until_signalled(app, args.host, args.port))
    return 0


async def serve_until_signalled(app: web.Application, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM, then stop cleanly."""
    runner, url = await start(app, host, port)
    log.info("listening on %s, status page %s/__gateway/", url, url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    sys.exit(main())
