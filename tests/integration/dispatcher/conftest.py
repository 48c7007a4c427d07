"""Fixtures for the dispatcher: a real dev inbox on free loopback ports (one per module) and the
dispatcher run in-process as a task, stopped the way SIGTERM stops it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest

from services.dispatcher.app import serve
from services.dispatcher.settings import DispatcherSettings
from tests.support.devinbox import RunningInbox, running_devinbox


@pytest.fixture(scope="module")
def inbox() -> Iterator[RunningInbox]:
    with running_devinbox() as running:
        yield running


@pytest.fixture
def clean_inbox(inbox: RunningInbox) -> RunningInbox:
    inbox.clear()
    return inbox


RunDispatcher = Callable[[DispatcherSettings], AbstractAsyncContextManager[asyncio.Task[None]]]


@pytest.fixture
def run_dispatcher() -> RunDispatcher:
    @asynccontextmanager
    async def running(settings: DispatcherSettings) -> AsyncIterator[asyncio.Task[None]]:
        stop = asyncio.Event()
        task = asyncio.create_task(serve(settings, stop))
        try:
            yield task
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)

    return running
