"""The gateway's application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from routing.gateway import proxy, status
from routing.gateway.settings import GatewaySettings
from routing.gateway.state import GatewayState, read_table


def create_app(settings: GatewaySettings) -> web.Application:
    """Raises TableError when the table on disk is refused: a gateway never starts blind."""
    state = GatewayState(settings, read_table(settings))
    app = web.Application(client_max_size=0)
    app[proxy.STATE] = state

    async def lifecycle(_: web.Application) -> AsyncIterator[None]:
        await state.start()
        yield
        await state.close()

    app.cleanup_ctx.append(lifecycle)
    status.add_routes(app)
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    return app
