"""Both servers in one asyncio process, stopped cleanly by SIGTERM or SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass

from aiohttp import web

from devinbox.http_api import create_app
from devinbox.smtp import start_smtp
from devinbox.store import MessageStore

log = logging.getLogger("devinbox")


@dataclass(frozen=True)
class InboxConfig:
    host: str
    http_port: int
    smtp_port: int
    capacity: int


async def serve(config: InboxConfig, stop: asyncio.Event | None = None) -> None:
    """Serve until `stop` is set (or a SIGTERM/SIGINT arrives when no event is given)."""
    store = MessageStore(config.capacity)
    stop = stop or _stop_on_signals()
    runner = web.AppRunner(create_app(store), access_log=None)
    await runner.setup()
    smtp_server: asyncio.Server | None = None
    try:
        await web.TCPSite(runner, config.host, config.http_port).start()
        smtp_server = await start_smtp(store, config.host, config.smtp_port)
        log.info("SMTP on %s:%d, HTTP on http://%s:%d/ (keeps the last %d messages; "
                 "Ctrl-C to stop)", config.host, config.smtp_port, config.host, config.http_port,
                 config.capacity)
        await stop.wait()
    finally:
        if smtp_server is not None:
            smtp_server.close()
            await smtp_server.wait_closed()
        await runner.cleanup()
        log.info("stopped")


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop
