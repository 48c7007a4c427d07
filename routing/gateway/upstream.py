"""A lean HTTP/1.1 client for the gateway's hop to its targets: one keep-alive pool per target URL,
each connection an asyncio protocol parsing with httptools (llhttp, as aiohttp and uvicorn do).

Why not aiohttp's client: per request it builds a ClientRequest, URL, timers, a payload task and
trace hooks the gateway never uses; profiled under load that was about a third of the gateway's
CPU. Here a request is one write (head and a small body together) and a parse.

Errors: UpstreamError when the target refuses the connection, closes it early or answers
something that is not HTTP (the gateway's 502); TimeoutError when it does not accept in the
connect timeout or stays silent for the idle timeout (504).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterable
from typing import cast
from urllib.parse import urlsplit

import httptools
from multidict import CIMultiDict

BUFFERED_HIGH = 256 * 1024  # body bytes read ahead of the client before reading pauses
NO_BODY_STATUSES = frozenset({204, 304})


class UpstreamError(Exception):
    """The target closed the connection or answered something that is not HTTP."""


class UpstreamResponse:
    """Status, headers and body of one answer; the body is read with read() or iter_chunks()."""

    def __init__(self, connection: _Connection, status: int, reason: str,
                 headers: CIMultiDict[str]) -> None:
        self._connection = connection
        self.status = status
        self.reason = reason
        self.headers = headers

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("Content-Length")
        return int(value) if value is not None and value.isdigit() else None

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.iter_chunks()])

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        connection = self._connection
        while True:
            chunk = await connection.next_chunk()
            if not chunk:
                return
            yield chunk

    def release(self) -> None:
        """Give the connection back (reused when the answer was read whole), or close it."""
        self._connection.finish()


class _Connection(asyncio.Protocol):
    """One keep-alive connection to a target; one request at a time."""

    def __init__(self, pool: UpstreamPool) -> None:
        self._pool = pool
        self._loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._error: BaseException | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._head_only = False
        self._reason = ""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_done = False
        self._keep_alive = False
        self._complete = False
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._paused = False
        self._write_paused = False
        self._drained: asyncio.Future[None] | None = None
        self._received = False  # any byte of the current answer
        self._last_activity = 0.0
        self._timer: asyncio.TimerHandle | None = None

    # --- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A cast, not isinstance: uvloop's transports do not derive from asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._last_activity = self._loop.time()
        if self._parser is None:  # bytes while idle: the connection is out of step
            self._fail(UpstreamError("the target sent bytes nobody asked for"))
            return
        self._received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(UpstreamError("the target upgraded the connection"))
        except httptools.HttpParserError as error:
            self._fail(UpstreamError(f"the target's answer is not HTTP: {error}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._pool.forget(self)
        if self._head_done and not self._complete and self._ends_at_close():
            self._complete = True  # a body without length or chunks ends when the target closes
        if self._parser is not None and not self._complete:
            self._wake(UpstreamError("the target closed the connection"))
        else:
            self._wake(None)
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def _ends_at_close(self) -> bool:
        names = {name.lower() for name, _ in self._headers}
        return b"content-length" not in names and b"transfer-encoding" not in names

    # --- httptools callbacks

    def on_status(self, reason: bytes) -> None:
        self._reason += reason.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        assert self._parser is not None
        if self._parser.get_status_code() < 200:  # 1xx: an interim answer; the real one follows
            self._headers, self._reason = [], ""
            return
        self._head_done = True
        # Asked now: once the message is complete llhttp has reset what this reads.
        self._keep_alive = self._parser.should_keep_alive()
        if self._head_only:  # HEAD: no body follows, whatever the headers say
            self._complete = True
        self._wake(None)

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > BUFFERED_HIGH and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake(None)

    def on_message_complete(self) -> None:
        assert self._parser is not None
        if self._parser.get_status_code() < 200:
            return
        self._complete = True
        self._wake(None)

    # --- one exchange

    def _wake(self, error: BaseException | None) -> None:
        if error is not None and self._error is None:
            self._error = error
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: BaseException) -> None:
        self._wake(error)
        if self.transport is not None:
            self.transport.close()

    def _check_idle(self) -> None:
        """The idle timeout: silence since the last byte, checked when the timer fires."""
        if self._complete or self._parser is None:
            self._timer = None
            return
        silent = self._loop.time() - self._last_activity
        timeout = self._pool.read_timeout_s
        if silent >= timeout:
            self._timer = None
            self._fail(TimeoutError("the target stayed silent for the idle timeout"))
        else:
            self._timer = self._loop.call_at(self._last_activity + timeout, self._check_idle)

    async def _wait(self) -> None:
        if self._error is not None:
            raise self._error
        self._waiter = self._loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None
        if self._error is not None:
            raise self._error

    async def _drain(self) -> None:
        if self._write_paused and not self.closed:
            self._drained = self._loop.create_future()
            await self._drained
            self._drained = None
        if self.closed and self._error is None:
            raise UpstreamError("the target closed the connection")

    async def exchange(self, head: bytes, body: bytes | AsyncIterator[bytes] | None,
                       chunked: bool, head_only: bool) -> UpstreamResponse:
        assert self.transport is not None
        if self.closed:
            raise UpstreamError("the target closed the connection")
        self._parser = httptools.HttpResponseParser(self)
        self._head_only = head_only
        self._reason, self._headers, self._head_done, self._complete = "", [], False, False
        self._keep_alive = False
        self._chunks.clear()
        self._buffered, self._received, self._error = 0, False, None
        self._last_activity = self._loop.time()
        self._timer = self._loop.call_at(self._last_activity + self._pool.read_timeout_s,
                                         self._check_idle)
        if body is None or isinstance(body, bytes):
            self.transport.write(head + body if body else head)
        else:
            self.transport.write(head)
            async for chunk in body:
                if not chunk:
                    continue
                self.transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
                self._last_activity = self._loop.time()
                await self._drain()
            if chunked:
                self.transport.write(b"0\r\n\r\n")
        while not self._head_done:
            await self._wait()
        assert self._parser is not None
        headers: CIMultiDict[str] = CIMultiDict(
            (name.decode("utf-8", "surrogateescape"), value.decode("utf-8", "surrogateescape"))
            for name, value in self._headers)
        return UpstreamResponse(self, self._parser.get_status_code(), self._reason, headers)

    @property
    def received(self) -> bool:
        return self._received

    async def next_chunk(self) -> bytes:
        """The next piece of the body; b"" once it is complete."""
        while not self._chunks:
            if self._complete:
                return b""
            if self.closed and self._error is None:
                raise UpstreamError("the target closed the connection")
            await self._wait()
        chunk = self._chunks.popleft()
        self._buffered -= len(chunk)
        self._last_activity = self._loop.time()  # a paused read is not the target's silence
        if self._paused and self._buffered <= BUFFERED_HIGH // 4 and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return chunk

    def finish(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        parser = self._parser
        reusable = (parser is not None and self._complete and self._error is None
                    and not self._chunks and self._keep_alive and not self.closed)
        self._parser = None
        self._chunks.clear()
        if reusable:
            self._pool.give_back(self)
        elif self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()
            self._pool.forget(self)


class UpstreamPool:
    """Keep-alive connections to one target, at most `size` at once (more requests wait)."""

    def __init__(self, base_url: str, size: int, connect_timeout_s: float,
                 read_timeout_s: float) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.prefix = parts.path.rstrip("/")  # a target URL may carry a path before the request's
        self.port = parts.port or 80
        self.size = size
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()
        self._connecting = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    async def _connect(self) -> tuple[_Connection, bool]:
        """An idle connection (True: reused) or a new one."""
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                return connection, True
        while len(self._open) + self._connecting >= self.size:
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            await waiter
            if self._idle:
                return await self._connect()
        self._connecting += 1  # counts against the limit while it connects
        try:
            _, connection = await asyncio.wait_for(
                asyncio.get_running_loop().create_connection(
                    lambda: _Connection(self), self.host, self.port),
                self.connect_timeout_s)
        except TimeoutError:
            raise  # an OSError too, but the gateway's 504, not its 502
        except OSError as error:
            raise UpstreamError(f"cannot connect: {error}") from error
        finally:
            self._connecting -= 1
            self._wake_one()
        self._open.add(connection)
        return connection, False

    async def request(self, method: str, target: str, headers: Iterable[tuple[str, str]],
                      body: bytes | AsyncIterator[bytes] | None,
                      chunked: bool = False) -> UpstreamResponse:
        """`headers` go out as given (the caller adds Host, Content-Length or, when `chunked`,
        Transfer-Encoding); a body of bytes is sent with the head in one write."""
        lines = [f"{method} {self.prefix}{target} HTTP/1.1"]
        lines.extend(f"{name}: {value}" for name, value in headers)
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
        replayable = body is None or isinstance(body, bytes)
        connection, reused = await self._connect()
        try:
            return await connection.exchange(head, body, chunked, method == "HEAD")
        except UpstreamError:
            connection.finish()
            # A kept-alive connection the target closed as we sent: send again on a new one.
            if not (reused and replayable and not connection.received):
                raise
        except BaseException:
            connection.finish()
            raise
        connection, _ = await self._connect()
        try:
            return await connection.exchange(head, body, chunked, method == "HEAD")
        except BaseException:
            connection.finish()
            raise

    def give_back(self, connection: _Connection) -> None:
        self._idle.append(connection)
        self._wake_one()

    def forget(self, connection: _Connection) -> None:
        self._open.discard(connection)
        if connection in self._idle:
            self._idle.remove(connection)
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def close(self) -> None:
        for connection in [*self._open]:
            if connection.transport is not None:
                connection.transport.close()
        self._idle.clear()
        self._open.clear()
