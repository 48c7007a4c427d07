"""The gateway's application factory, and serving it (GatewayRunner answers like ALB even when
a request does not parse)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

from aiohttp import web

from routing.gateway import proxy, status
from routing.gateway.alb_settings import AlbSettings
from routing.gateway.listener import PARSER_LIMITS, GatewayRunner
from routing.gateway.settings import GatewaySettings
from routing.gateway.state import GatewayState, read_table


def create_app(settings: GatewaySettings, alb: AlbSettings) -> web.Application:
    """Raises TableError when the table on disk is refused: a gateway never starts blind."""
    state = GatewayState(settings, alb, read_table(settings))
    # ALB closes a client connection idle for its idle timeout.
    app = web.Application(client_max_size=0, handler_args={
        **PARSER_LIMITS, "keepalive_timeout": alb.idle_timeout_s})
    app[proxy.STATE] = state

    async def lifecycle(_: web.Application) -> AsyncIterator[None]:
        await state.start()
        yield
        await state.close()

    app.cleanup_ctx.append(lifecycle)
    status.add_routes(app)
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    return app


async def start(app: web.Application, host: str = "127.0.0.1",
                port: int = 0) -> tuple[web.AppRunner, str]:
    """Serve the gateway on host:port (a free port when 0); returns the runner and base URL."""
    runner = GatewayRunner(app, error_body=app[proxy.STATE].alb.error_body, access_log=None,
                           shutdown_timeout=1.0)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    await web.SockSite(runner, sock).start()
    return runner, f"http://{host}:{sock.getsockname()[1]}"
