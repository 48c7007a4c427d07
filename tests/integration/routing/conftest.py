"""Real servers on loopback: echo backends on free ports and the gateway in front of them."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from routing.echo_backend import BEHAVIOUR, Behaviour, create_app, serve
from routing.gateway.alb_settings import AlbSettings
from routing.gateway.app import create_app as create_gateway
from routing.gateway.app import start as start_app
from routing.gateway.proxy import STATE
from routing.gateway.settings import GatewaySettings, env_key
from routing.gateway.state import GatewayState


@dataclass
class Backend:
    name: str
    url: str
    runner: web.AppRunner
    behaviour: Behaviour

    async def stop(self) -> None:
        await self.runner.cleanup()


@dataclass
class Gateway:
    url: str
    state: GatewayState
    table: Path


StartGateway = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def backends() -> AsyncIterator[dict[str, Backend]]:
    started: dict[str, Backend] = {}
    for name in ("monolith", "send", "verify"):
        app = create_app(name)
        runner, url = await serve(app)
        started[name] = Backend(name, url, runner, app[BEHAVIOUR])
    yield started
    for backend in started.values():
        await backend.stop()


SHIPPED_TABLE = Path(__file__).parents[2] / "unit" / "routing" / "tables" / "shipped.toml"


@pytest.fixture
def table_file(tmp_path: Path) -> Path:
    """A copy of the frozen shipped table (never the live routing/routes.toml) to edit freely."""
    path = tmp_path / "routes.toml"
    shutil.copy(SHIPPED_TABLE, path)
    return path


@pytest.fixture
async def start_gateway(backends: dict[str, Backend], table_file: Path,
                        ) -> AsyncIterator[StartGateway]:
    runners: list[web.AppRunner] = []

    async def start(alb: AlbSettings | None = None, **settings: object) -> Gateway:
        options: dict[str, object] = {
            "health_interval_s": 0.1, "health_timeout_s": 0.5, "reload_interval_s": 0.05,
            "target_urls": {env_key(n): b.url for n, b in backends.items()}, **settings}
        app = create_gateway(GatewaySettings(table_path=table_file, **options),  # type: ignore[arg-type]
                             alb or AlbSettings(idle_timeout_s=5.0, connect_timeout_s=2.0))
        runner, url = await start_app(app)
        runners.append(runner)
        return Gateway(url, app[STATE], table_file)

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
