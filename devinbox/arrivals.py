"""Requests that wait for a message to arrive (`GET /messages?to=…&wait=S`), woken when it does.

A client that would otherwise poll (a test, the bench) asks once and is answered the moment the
message is stored, which is both cheaper and exact to time.
"""

from __future__ import annotations

import asyncio

from devinbox.store import Message, MessageStore

MAX_WAIT_SECONDS = 30.0


class Arrivals:
    """Waiters by destination (casefolded: the store's own match then decides). Lives on one event
    loop; the store may add from any thread."""

    def __init__(self, store: MessageStore, loop: asyncio.AbstractEventLoop) -> None:
        self.store = store
        self.loop = loop
        self._waiting: dict[str, set[asyncio.Future[None]]] = {}
        self._closed = False
        self._unsubscribe = store.on_add(self._stored)

    def _stored(self, message: Message) -> None:
        self.loop.call_soon_threadsafe(self._wake, message.to.casefold())

    def _wake(self, key: str) -> None:
        for waiter in self._waiting.pop(key, set()):
            if not waiter.done():
                waiter.set_result(None)

    async def newest_first(self, to: str, wait_seconds: float) -> list[Message]:
        """The messages to `to`; when there are none, waits up to `wait_seconds` for one."""
        deadline = self.loop.time() + wait_seconds
        messages = self.store.newest_first(to)
        while not messages and not self._closed:
            remaining = deadline - self.loop.time()
            if remaining <= 0:
                break
            # No await between the look above and registering: a message stored meanwhile is
            # either seen by the look or wakes this waiter (its wake-up runs after this code).
            waiter = self.loop.create_future()
            self._waiting.setdefault(to.casefold(), set()).add(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except TimeoutError:
                pass
            finally:
                waiters = self._waiting.get(to.casefold())
                if waiters is not None:
                    waiters.discard(waiter)
                    if not waiters:
                        del self._waiting[to.casefold()]
            messages = self.store.newest_first(to)
        return messages

    def close(self) -> None:
        """Answer every waiter now (the server is stopping) and stop listening to the store."""
        self._closed = True
        self._unsubscribe()
        for key in list(self._waiting):
            self._wake(key)
