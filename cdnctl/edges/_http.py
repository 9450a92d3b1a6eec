"""A small HTTP/1.1 client for the edge adapters, over asyncio protocols.

One :class:`Pool` per node keeps up to ``limit`` keep-alive connections, reuses idle
ones last-in first-out, closes them after ``keepalive_timeout`` seconds idle, and
queues requests (first-in first-out) while all are busy.  Requests started in one turn
of the event loop are written together at the next (:class:`_WriteBatch`).  Each
connection is an :class:`asyncio.Protocol` feeding what it receives to a
:class:`_wire.ResponseReader` (Content-Length, chunked, close-delimited, HEAD, 1xx): a
request costs one write and one future.  Only the first ``keep`` bytes of a body are
kept; the rest is dropped.

Failures, for ``base.map_errors``: :class:`ConnectError`; :class:`ServerDisconnectedError`
(closed or reset before any byte of the answer: retried once on a new connection);
:class:`ProtocolError` (malformed or truncated answer); other :class:`OSError`;
:class:`TimeoutError` (``total_seconds`` covers waiting for a connection, connecting,
the exchange and the retry); :class:`InvalidRequestError` (bad method, target, header).
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import cast

from cdnctl.edges._wire import InvalidRequestError, ProtocolError, ResponseReader, request_bytes

__all__ = ["ConnectError", "Headers", "InvalidRequestError", "Pool", "ProtocolError",
           "Response", "ServerDisconnectedError", "build_request"]

# Framing and connection management belong to the client: never taken from the caller.
_OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection",
                          "keep-alive", "upgrade", "proxy-connection"})
# Methods sent without "Content-Length: 0" when they have no body (as aiohttp did).
_BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "CONNECT"})


class ConnectError(ConnectionError):
    """No connection could be opened (refused, unroutable, DNS, TLS handshake)."""


class ServerDisconnectedError(ConnectionResetError):
    """Closed or reset before any byte of the answer: typically a kept-alive connection
    the server timed out just as it was reused (so the request is sent once more)."""


class Headers(Mapping[str, str]):
    """Response headers: case-insensitive lookup of the first value; all by :meth:`getall`."""

    __slots__ = ("_first", "_pairs")

    def __init__(self, pairs: Iterable[tuple[str, str]] = (), *, lowered: bool = False) -> None:
        self._pairs = list(pairs) if lowered else [(n.lower(), v) for n, v in pairs]
        first: dict[str, str] = {}
        for name, value in self._pairs:
            first.setdefault(name, value)
        self._first = first

    def __getitem__(self, name: str) -> str:
        return self._first[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)

    def getall(self, name: str) -> list[str]:
        name = name.lower()
        return [v for n, v in self._pairs if n == name]


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    reason: str
    headers: Headers
    body: bytes  # the first ``keep`` bytes of the body
    length: int  # the whole body's length (read and dropped beyond ``body``)


def build_request(method: str, target: str, *, host: str,
                  headers: Mapping[str, str] | None = None,
                  user_agent: str | None = None) -> bytes:
    """``Host``, ``User-Agent`` (``headers`` may replace it), ``headers`` but framing and
    connection ones, ``Content-Length: 0`` unless GET/HEAD/...; never Accept-Encoding."""
    fields: dict[str, tuple[str, str]] = {}  # lower-case name -> (name, value)
    if user_agent:
        fields["user-agent"] = ("User-Agent", user_agent)
    if headers:
        for name, value in headers.items():
            if name.lower() not in _OWN_HEADERS:
                fields[name.lower()] = (name, value)
    items = [("Host", host), *fields.values()]
    if method not in _BODYLESS_METHODS:
        items.append(("Content-Length", "0"))
    return request_bytes(method, target, items)


class _WriteBatch:
    """Requests written together at the next turn of the event loop.

    A fan-out starts one exchange per node in the same turn of the loop; written as
    each is built, every ``send`` on loopback also wakes the node's process again (the
    kernel delivers the packet in the sender's system call), and the sends are spread
    over the time the Python between them takes. Written together, they cost what a
    minimal client's back-to-back writes cost. The delay is one turn of the loop; a
    batch that reaches ``most`` requests is written at once, so the first nodes of a
    large fan-out start answering while the rest of it is prepared.
    """

    __slots__ = ("_loop", "_pending")
    most = 16  # written at once as soon as this many wait

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._pending: list[tuple[asyncio.Transport, bytes]] = []

    def add(self, transport: asyncio.Transport, data: bytes) -> None:
        pending = self._pending
        if not pending:
            self._loop.call_soon(self._flush)
        pending.append((transport, data))
        if len(pending) >= self.most:
            self._flush()

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        for transport, data in pending:
            if not transport.is_closing():  # aborted meanwhile (timeout, cancel, aclose)
                transport.write(data)


_BATCHES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _WriteBatch] = (
    weakref.WeakKeyDictionary())


def _writes_of(loop: asyncio.AbstractEventLoop) -> _WriteBatch:
    batch = _BATCHES.get(loop)
    if batch is None:
        batch = _BATCHES[loop] = _WriteBatch(loop)
    return batch


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection; one exchange at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop, keep: int) -> None:
        self._loop, self._keep = loop, keep
        self._transport: asyncio.Transport | None = None
        self.closed = False  # the transport is gone (or going): never reuse
        self.reusable = False  # the last exchange left the connection ready for another
        self.idle_since = 0.0
        self._aborted = False  # closed by us while in use
        self._waiter: asyncio.Future[Response] | None = None
        self._reader: ResponseReader | None = None
        self._got = self._eof = False  # any byte of the current answer / EOF received

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        waiter, reader = self._waiter, self._reader
        if waiter is None or reader is None or waiter.done():  # bytes nobody asked for
            self.abort()
            return
        self._got = True
        try:
            if reader.feed(data):
                self._complete(waiter, reader)
        except ProtocolError as exc:
            self._fail(waiter, exc)

    def eof_received(self) -> bool:
        self.closed = True
        self._end_of_stream(None)
        return False  # let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._end_of_stream(exc)

    async def exchange(self, request: bytes, *, head: bool) -> Response:
        if self.closed or self._transport is None:
            raise ServerDisconnectedError("connection closed while idle")
        self._got, self.reusable = False, False
        self._reader = ResponseReader(head=head, keep=self._keep)
        waiter: asyncio.Future[Response] = self._loop.create_future()
        self._waiter = waiter
        try:
            _writes_of(self._loop).add(self._transport, request)
            return await waiter
        finally:
            self._waiter = self._reader = None

    def _complete(self, waiter: asyncio.Future[Response], reader: ResponseReader) -> None:
        # Keep-alive only if the answer allows it (HTTP/1.1, no "Connection: close",
        # not close-delimited) and nothing followed it.
        reusable = reader.reusable and not self.closed
        if not reusable and self._transport is not None:
            self.closed = True
            self._transport.close()
        self.reusable = reusable
        if not waiter.done():
            waiter.set_result(Response(reader.status, reader.reason,
                                       Headers(reader.headers, lowered=True), reader.body,
                                       reader.length))

    def _end_of_stream(self, exc: Exception | None) -> None:
        """The server closed (``exc`` None) or the connection broke."""
        waiter = self._waiter
        if waiter is None or waiter.done() or self._eof:
            return
        self._eof = True
        if self._aborted:
            self._fail(waiter, ConnectionAbortedError("connection closed by the client"))
        elif not self._got:
            what = "reset" if exc is not None else "closed"
            err = ServerDisconnectedError(f"server {what} the connection before answering")
            err.__cause__ = exc
            self._fail(waiter, err)
        elif exc is not None:
            self._fail(waiter, exc)
        else:  # ends a close-delimited body, or the answer was truncated
            reader = self._reader
            try:
                if reader is not None and reader.eof():
                    self._complete(waiter, reader)
            except ProtocolError as error:
                self._fail(waiter, error)
            if not waiter.done():
                self._fail(waiter, ProtocolError("connection closed mid-answer"))

    def _fail(self, waiter: asyncio.Future[Response], exc: BaseException) -> None:
        self.reusable = False
        self.abort()
        if not waiter.done():
            waiter.set_exception(exc)

    def abort(self) -> None:
        """Drop the connection at once (an error, a timeout, aclose, unexpected bytes)."""
        if not self.closed:
            self._aborted = self._waiter is not None and not self._waiter.done()
        self.closed = True
        if self._transport is not None:
            self._transport.abort()

    def close(self) -> None:
        """Close an idle connection politely."""
        self.closed = True
        if self._transport is not None:
            self._transport.close()


class Pool:
    """Keep-alive connections to one ``host:port`` (TLS if ``ssl``)."""

    def __init__(self, host: str, port: int, *, limit: int = 8, keepalive_timeout: float = 4.0,
                 ssl: ssl.SSLContext | None = None, user_agent: str | None = None,
                 keep: int = 200) -> None:
        if limit < 1:
            raise ValueError("limit must be >= 1")
        self.host, self.port, self.limit, self.keep = host, port, limit, keep
        self.keepalive_timeout, self.ssl, self.user_agent = keepalive_timeout, ssl, user_agent
        self._loop: asyncio.AbstractEventLoop | None = None
        self._all: set[_Connection] = set()  # open or in use
        self._connecting = 0
        self._idle: list[_Connection] = []  # oldest first; reuse from the end
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def size(self) -> int:
        """Connections open, in use or being opened (never more than ``limit``)."""
        return len(self._all) + self._connecting

    @property
    def idle(self) -> int:  # connections waiting for a request
        return len(self._idle)

    async def request(self, method: str, target: str, *, host: str,
                      headers: Mapping[str, str] | None = None, total_seconds: float) -> Response:
        """Send one bodiless request and read the whole answer within ``total_seconds``."""
        request = build_request(method, target, host=host, headers=headers,
                                user_agent=self.user_agent)
        head = method == "HEAD"
        self._loop = asyncio.get_running_loop()
        async with asyncio.timeout(total_seconds):
            try:
                return await self._exchange(request, fresh=False, head=head)
            except ServerDisconnectedError:
                # Every cdnctl operation is safe to repeat: once more, on a new connection.
                return await self._exchange(request, fresh=True, head=head)

    async def _exchange(self, request: bytes, *, fresh: bool, head: bool) -> Response:
        conn = await self._acquire(fresh)
        try:
            response = await conn.exchange(request, head=head)
        except BaseException:  # an error, a timeout or a cancellation: never reuse
            conn.abort()
            self._forget(conn)
            raise
        self._release(conn)
        return response

    async def _acquire(self, fresh: bool) -> _Connection:
        loop = self._loop
        assert loop is not None
        while True:
            idle = self._idle
            while idle and not fresh:
                conn = idle.pop()
                if not conn.closed and loop.time() - conn.idle_since < self.keepalive_timeout:
                    return conn
                conn.close()
                self._forget(conn, wake=False)  # the slot is ours
            if fresh and idle and self.size >= self.limit:
                oldest = idle.pop(0)  # make room for a new connection
                oldest.close()
                self._forget(oldest, wake=False)
            if self.size < self.limit:
                return await self._connect(loop)
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # woken but leaving: pass the turn on
                else:
                    self._waiters.remove(waiter)
                raise

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> _Connection:
        self._connecting += 1
        try:
            _, conn = await loop.create_connection(
                lambda: _Connection(loop, self.keep), self.host, self.port, ssl=self.ssl,
                server_hostname=self.host if self.ssl is not None else None)
        except BaseException as exc:
            self._connecting -= 1
            self._wake()  # the slot is free again
            if isinstance(exc, OSError):  # refused, unroutable, DNS (gaierror), TLS
                raise ConnectError(f"cannot connect to {self.host}:{self.port}: "
                                   f"{exc.strerror or exc}") from exc
            raise
        self._connecting -= 1
        self._all.add(conn)
        return conn

    def _release(self, conn: _Connection) -> None:
        if not conn.reusable or conn.closed:
            conn.close()
            self._forget(conn)
            return
        loop = self._loop
        assert loop is not None
        conn.idle_since = loop.time()
        self._idle.append(conn)
        if self._timer is None:
            self._timer = loop.call_at(conn.idle_since + self.keepalive_timeout, self._expire)
        self._wake()

    def _forget(self, conn: _Connection, *, wake: bool = True) -> None:
        """``conn`` no longer counts against the limit; let a waiter have the slot."""
        if conn in self._all:
            self._all.remove(conn)
            if wake:
                self._wake()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _expire(self) -> None:
        """Close connections idle for ``keepalive_timeout``; re-arm for the next one."""
        self._timer = None
        loop = self._loop
        assert loop is not None  # armed by _release
        deadline = loop.time() - self.keepalive_timeout
        idle = self._idle
        while idle and (idle[0].idle_since <= deadline or idle[0].closed):
            conn = idle.pop(0)
            conn.close()
            self._forget(conn)
        if idle:
            self._timer = loop.call_at(idle[0].idle_since + self.keepalive_timeout, self._expire)

    async def aclose(self) -> None:
        """Close every connection; requests still running fail with ConnectionAbortedError.
        The pool stays usable (it opens new connections on demand)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        idle, self._idle = self._idle, []
        for conn in list(self._all):
            conn.abort()
        for conn in idle:
            self._forget(conn)
        await asyncio.sleep(0)  # let the transports call connection_lost
