"""A tiny target for trying the gateway without the real services (and for its tests).

`python -m routing.echo_backend --name send --port 8002` answers every path with JSON naming
itself and echoing what it received; `/readyz` answers 200 (or 503 after POST /__ready/off).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
from dataclasses import dataclass

from aiohttp import web


@dataclass
class Behaviour:
    name: str
    ready: bool = True
    fail_status: int | None = None  # answer every request with this status
    delay_s: float = 0.0


BEHAVIOUR: web.AppKey[Behaviour] = web.AppKey("behaviour", Behaviour)


async def echo(request: web.Request) -> web.StreamResponse:
    behaviour = request.app[BEHAVIOUR]
    if request.path == "/readyz":
        return web.json_response({"status": "ready" if behaviour.ready else "not ready"},
                                 status=200 if behaviour.ready else 503)
    if request.path.startswith("/__ready/"):
        behaviour.ready = request.path.endswith("/on")
        return web.json_response({"ready": behaviour.ready})
    if behaviour.delay_s:
        await asyncio.sleep(behaviour.delay_s)
    body = await request.read()
    return web.json_response(
        {"backend": behaviour.name, "method": request.method, "path": request.raw_path,
         "headers": dict(request.headers), "body": body.decode("utf-8", "replace")},
        status=behaviour.fail_status or 200)


def create_app(name: str) -> web.Application:
    # Accepts the largest request an ALB forwards (16K request line and header, 64K headers).
    app = web.Application(handler_args={"max_line_size": 65536, "max_field_size": 65536,
                                        "max_headers": 4096})
    app[BEHAVIOUR] = Behaviour(name)
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


def bound_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


async def serve(app: web.Application, host: str = "127.0.0.1",
                port: int = 0) -> tuple[web.AppRunner, str]:
    """Start `app` on a (free, when port=0) loopback port; returns the runner and base URL."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    sock = bound_socket(host, port)
    await web.SockSite(runner, sock).start()
    return runner, f"http://{host}:{sock.getsockname()[1]}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m routing.echo_backend")
    parser.add_argument("--name", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(create_app(args.name), host=args.host, port=args.port, access_log=None)


if __name__ == "__main__":
    main()
