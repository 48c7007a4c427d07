"""The event loop our own asyncio processes run on: uvloop when installed (uvicorn[standard] brings
it; the services already run on it under uvicorn), else asyncio's own."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def _install_fastest() -> bool:
    """Make new event loops uvloop's; says whether it could."""
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on the fastest loop there is."""
    _install_fastest()
    return asyncio.run(main)
