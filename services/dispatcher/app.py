"""Wire the dispatcher from settings (Redis client, channels, metrics, signals) and run it."""

from __future__ import annotations

import asyncio
import logging
import signal

import redis.asyncio as aioredis
from prometheus_client import start_http_server

from services.dispatcher.channels.factory import build_channels
from services.dispatcher.metrics import DispatchMetrics
from services.dispatcher.runner import Dispatcher
from services.dispatcher.settings import DispatcherSettings
from services.verification.redis_client import connect

log = logging.getLogger(__name__)


def redis_client(settings: DispatcherSettings, block_ms: int) -> aioredis.Redis:
    """A node's client, or a cluster client with REDIS_CLUSTER=1 (verification/redis_client.py).
    The socket timeout must outlast XREADGROUP's BLOCK; redis-py reconnects by itself (its
    default retry policy, as before the cluster client)."""
    return connect(
        settings.shared.redis_url,
        cluster=settings.shared.redis_cluster,
        socket_timeout=block_ms / 1000 + 5,
        socket_connect_timeout=5,
        health_check_interval=30,
    )


def stop_on_signals() -> asyncio.Event:
    """SIGTERM/SIGINT set the event; the loop finishes the job in hand, then returns."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def serve(settings: DispatcherSettings, stop: asyncio.Event | None = None) -> None:
    stop = stop or stop_on_signals()
    client = redis_client(settings, block_ms=1000)
    channels = build_channels(settings)
    metrics = DispatchMetrics()
    metrics_server = None
    if settings.metrics_port:
        metrics_server, _thread = start_http_server(
            settings.metrics_port, addr="127.0.0.1", registry=metrics.registry
        )
        log.info("metrics on http://127.0.0.1:%d/metrics", settings.metrics_port)
    sms = "the dev inbox at " + settings.devinbox_url if settings.sms_backend == "devinbox" else (
        f"Amazon SNS ({settings.aws_region})"
    )
    log.info("delivering SMS via %s, email via SMTP %s:%d",
             sms, settings.smtp.host, settings.smtp.port)
    try:
        await Dispatcher(settings, client, channels, metrics).run(stop)
    finally:
        for channel in channels.values():
            await channel.close()
        await client.aclose()
        if metrics_server is not None:
            metrics_server.shutdown()
