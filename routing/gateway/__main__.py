"""`python -m routing.gateway --table routing/routes.toml --host 127.0.0.1 --port 8080`.

Target URLs come from the table; ROUTING_TARGET_<GROUP>_URL overrides one (e.g.
ROUTING_TARGET_SEND_URL=http://127.0.0.1:9002). Other settings: see settings.py.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from aiohttp import web

from kit import logs
from kit.settings import SettingsError
from routing.gateway.app import create_app
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
        import uvloop  # a faster event loop when installed (uvicorn[standard] brings it)

        uvloop.install()
    except ImportError:
        pass
    try:
        app = create_app(GatewaySettings.from_env(table_path=Path(args.table)))
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
    log.info("listening on http://%s:%d, status page http://%s:%d/__gateway/",
             args.host, args.port, args.host, args.port)
    # run_app stops cleanly on SIGINT and SIGTERM.
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
