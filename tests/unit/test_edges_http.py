"""cdnctl.edges._http (the edge adapters' HTTP/1.1 client) against small asyncio servers."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from cdnctl.edges._http import (
    ConnectError,
    InvalidRequestError,
    Pool,
    ProtocolError,
    ServerDisconnectedError,
)

OK = (b"HTTP/1.1 200 Purged\r\nX-Cdnctl-Result: Purged\r\nX-Cdnctl-Purged: 1\r\n"
      b"Content-Length: 2\r\n\r\nok")
Handler = Callable[["Server", asyncio.StreamWriter, bytes], Awaitable[bool]]


async def answer_ok(server: Server, writer: asyncio.StreamWriter, head: bytes) -> bool:
    writer.write(OK)
    return True  # keep the connection


class Server:
    """Counts connections and requests; ``handler`` answers each request head and says
    whether to keep the connection (False: close it)."""

    def __init__(self, handler: Handler = answer_ok) -> None:
        self.handler = handler
        self.accepted = 0
        self.open = 0
        self.max_open = 0
        self.requests: list[bytes] = []
        self.closed_by_client = 0
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    async def start(self) -> Server:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        self.accepted += 1
        self.open += 1
        self.max_open = max(self.max_open, self.open)
        self._writers.add(writer)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    self.closed_by_client += 1
                    return
                self.requests.append(head)
                if not await self.handler(self, writer, head):
                    return
                await writer.drain()
        finally:
            self.open -= 1
            self._writers.discard(writer)
            writer.close()

    async def close(self) -> None:
        self._server.close()
        for task in self._handlers:
            task.cancel()  # its ``finally`` closes the connection
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[Server]]]:
    servers: list[Server] = []

    async def start(handler: Handler = answer_ok) -> Server:
        servers.append(await Server(handler).start())
        return servers[-1]

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
async def pools() -> AsyncIterator[Callable[..., Pool]]:
    made: list[Pool] = []

    def make(server: Server, **kwargs: object) -> Pool:
        made.append(Pool("127.0.0.1", server.port, user_agent="cdnctl-edge/0.1", **kwargs))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for pool in made:
        await pool.aclose()


async def get(pool: Pool, method: str = "PURGE", target: str = "/a", **kwargs: object):
    return await pool.request(method, target, host="www.example.com",
                              total_seconds=kwargs.pop("total_seconds", 2.0), **kwargs)  # type: ignore[arg-type]


def raw(status_and_headers: bytes, body: bytes = b"", *, close: bool = False) -> Handler:
    """Answer every request with these bytes; close afterwards if ``close`` or the answer
    says ``Connection: close``."""
    close = close or b"connection: close" in status_and_headers.lower()

    async def handler(server: Server, writer: asyncio.StreamWriter, head: bytes) -> bool:
        writer.write(status_and_headers + body)
        return not close
    return handler


async def test_keep_alive_connection_is_reused(serve, pools):
    server = await serve()
    pool = pools(server)
    for _ in range(5):
        resp = await get(pool)
        assert (resp.status, resp.reason, resp.body, resp.length) == (200, "Purged", b"ok", 2)
        assert resp.headers["x-cdnctl-result"] == "Purged"
        assert resp.headers.get("X-CDNCTL-PURGED") == "1"
    assert (server.accepted, len(server.requests), pool.idle, pool.size) == (1, 5, 1, 1)


async def test_request_bytes(serve, pools):
    server = await serve()
    pool = pools(server)
    await get(pool, "PURGE", "/a%20b?x=1", headers={"X-Cdnctl-Soft": "1", "host": "evil",
                                                   "Connection": "close"})
    await get(pool, "HEAD", "/", headers={"User-Agent": "warm/1"})
    assert server.requests == [
        b"PURGE /a%20b?x=1 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: cdnctl-edge/0.1\r\n"
        b"X-Cdnctl-Soft: 1\r\nContent-Length: 0\r\n\r\n",
        b"HEAD / HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: warm/1\r\n\r\n",
    ]
    assert server.accepted == 1  # the caller's Connection header was not sent


async def test_chunked_response_is_read_to_the_end_and_kept_short(serve, pools):
    chunk = b"x" * 50_000
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(20)) + b"0\r\n\r\n"
    server = await serve(raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", body))
    pool = pools(server, keep=200)
    for _ in range(2):
        resp = await get(pool, "GET")
        assert (resp.body, resp.length) == (b"x" * 200, 1_000_000)
    assert server.accepted == 1  # and the connection is reusable afterwards


async def test_close_delimited_response(serve, pools):
    server = await serve(raw(b"HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n", b"until the end", close=True))
    pool = pools(server)
    for _ in range(2):
        resp = await get(pool, "GET")
        assert (resp.status, resp.body) == (200, b"until the end")
        await asyncio.sleep(0.01)  # let the server notice
    assert (server.accepted, pool.size) == (2, 0)  # never reused


async def test_head_answer_has_no_body_despite_content_length(serve, pools):
    server = await serve(raw(b"HTTP/1.1 200 OK\r\nContent-Length: 12345\r\n\r\n"))
    pool = pools(server)
    for _ in range(3):
        resp = await get(pool, "HEAD")
        assert (resp.status, resp.headers["content-length"], resp.body) == (200, "12345", b"")
    assert server.accepted == 1


async def test_informational_answers_are_skipped(serve, pools):
    server = await serve(raw(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\n"
                             b"Link: </a.css>\r\n\r\n" + OK))
    pool = pools(server)
    resp = await get(pool)
    assert (resp.status, resp.body) == (200, b"ok")
    assert "link" not in resp.headers
    await get(pool)
    assert server.accepted == 1


async def test_connection_close_answer_is_not_reused(serve, pools):
    server = await serve(raw(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n",
                             b"ok"))
    pool = pools(server)
    for _ in range(3):
        assert (await get(pool)).body == b"ok"
    assert (server.accepted, pool.size, pool.idle) == (3, 0, 0)


async def test_http10_answer_is_not_reused(serve, pools):
    server = await serve(raw(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", b"ok"))
    pool = pools(server)
    await get(pool)
    await get(pool)
    assert server.accepted == 2


async def test_server_closing_an_idle_connection_is_transparent(serve, pools):
    async def answer_then_close(server: Server, writer: asyncio.StreamWriter, head: bytes):
        writer.write(OK)  # keep-alive as far as the client knows ...
        return False  # ... but closed right after

    server = await serve(answer_then_close)
    pool = pools(server)
    for _ in range(3):
        assert (await get(pool)).status == 200
        await asyncio.sleep(0.01)
    assert (server.accepted, len(server.requests)) == (3, 3)  # no retries were needed


async def test_stale_connection_is_retried_once_on_a_new_connection(serve, pools):
    """The server closes a kept-alive connection just as the next request arrives."""
    async def drop_second_request(server: Server, writer: asyncio.StreamWriter, head: bytes):
        if len(server.requests) % 2 == 0:
            return False  # close without answering
        writer.write(OK)
        return True

    server = await serve(drop_second_request)
    pool = pools(server)
    await get(pool)
    resp = await get(pool)  # request 2 dropped on the reused connection, request 3 answered
    assert resp.status == 200
    assert (server.accepted, len(server.requests)) == (2, 3)


async def test_dropped_twice_gives_up(serve, pools):
    async def drop(server: Server, writer: asyncio.StreamWriter, head: bytes) -> bool:
        return False

    server = await serve(drop)
    pool = pools(server)
    with pytest.raises(ServerDisconnectedError):
        await get(pool)
    assert (server.accepted, len(server.requests), pool.size) == (2, 2, 0)


async def test_reset_before_any_answer_is_retried(serve, pools):
    async def reset_first(server: Server, writer: asyncio.StreamWriter, head: bytes) -> bool:
        if len(server.requests) == 1:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()  # RST
            return False
        writer.write(OK)
        return True

    server = await serve(reset_first)
    pool = pools(server)
    assert (await get(pool)).status == 200
    assert server.accepted == 2


async def test_truncated_body_is_malformed_and_not_retried(serve, pools):
    server = await serve(raw(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n",
                             b"abc"))
    pool = pools(server)
    with pytest.raises(ProtocolError):
        await get(pool, "GET")
    assert (len(server.requests), pool.size) == (1, 0)


async def test_timeout_discards_the_connection(serve, pools):
    async def hang_first(server: Server, writer: asyncio.StreamWriter, head: bytes) -> bool:
        if len(server.requests) == 1:
            await asyncio.sleep(0.5)  # too late: the client gave up and closed
        writer.write(OK)
        return True

    server = await serve(hang_first)
    pool = pools(server)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    with pytest.raises(TimeoutError):
        await get(pool, total_seconds=0.1)
    assert loop.time() - t0 < 0.3
    assert (pool.size, pool.idle) == (0, 0)
    assert (await get(pool)).status == 200  # on a new connection
    await asyncio.sleep(0.5)
    assert (server.accepted, pool.size) == (2, 1)


async def test_pool_limit_under_concurrency(serve, pools):
    async def slow(server: Server, writer: asyncio.StreamWriter, head: bytes) -> bool:
        await asyncio.sleep(0.02)
        writer.write(OK)
        return True

    server = await serve(slow)
    pool = pools(server, limit=2)
    results = await asyncio.gather(*(get(pool) for _ in range(12)))
    assert all(r.status == 200 for r in results)
    assert (server.accepted, server.max_open, pool.size, pool.idle) == (2, 2, 2, 2)


async def test_a_waiter_that_times_out_gives_its_turn_back(serve, pools):
    async def slow(server: Server, writer: asyncio.StreamWriter, head: bytes) -> bool:
        await asyncio.sleep(0.2)
        writer.write(OK)
        return True

    server = await serve(slow)
    pool = pools(server, limit=1)
    first = asyncio.create_task(get(pool))
    await asyncio.sleep(0.05)
    with pytest.raises(TimeoutError):  # waits for the only connection, in vain
        await get(pool, total_seconds=0.05)
    assert (await first).status == 200
    assert (await get(pool)).status == 200
    assert (server.accepted, pool.size) == (1, 1)


async def test_idle_connections_expire(serve, pools):
    server = await serve()
    pool = pools(server, keepalive_timeout=0.1, limit=3)
    await asyncio.gather(*(get(pool) for _ in range(3)))
    assert pool.idle == 3
    await asyncio.sleep(0.3)
    assert (pool.idle, pool.size, server.open, server.closed_by_client) == (0, 0, 0, 3)
    await get(pool)
    assert server.accepted == 4


async def test_malformed_status_line(serve, pools):
    server = await serve(raw(b"HTTP/1.1 OK\r\nContent-Length: 0\r\n\r\n"))
    pool = pools(server)
    with pytest.raises(ProtocolError):
        await get(pool)
    assert (len(server.requests), pool.size) == (1, 0)  # not retried, not reused


async def test_invalid_header_is_refused_before_connecting(serve, pools):
    server = await serve()
    pool = pools(server)
    with pytest.raises(InvalidRequestError):
        await get(pool, "GET", headers={"X-Bad": "a\r\nInjected: 1"})
    with pytest.raises(InvalidRequestError):
        await get(pool, "GET", headers={"Bad Name": "1"})
    assert server.accepted == 0


async def test_refused_connection(pools):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pool = Pool("127.0.0.1", port)
    with pytest.raises(ConnectError, match="cannot connect"):
        await get(pool)
    assert pool.size == 0


async def test_aclose_closes_every_connection(serve, pools):
    server = await serve()
    pool = pools(server, limit=4)
    await asyncio.gather(*(get(pool) for _ in range(4)))
    assert server.open == 4
    await pool.aclose()
    await asyncio.sleep(0.05)
    assert (server.open, server.closed_by_client, pool.size) == (0, 4, 0)


class _Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closing


async def test_requests_of_one_turn_are_written_together_at_the_next():
    from cdnctl.edges._http import _writes_of

    loop = asyncio.get_running_loop()
    batch = _writes_of(loop)
    assert _writes_of(loop) is batch  # one batch per loop
    a, b, aborted = _Transport(), _Transport(), _Transport()
    batch.add(a, b"1")
    batch.add(aborted, b"2")
    batch.add(b, b"3")
    aborted.closing = True  # e.g. its exchange timed out in the same turn
    assert (a.written, b.written) == ([], [])
    await asyncio.sleep(0)
    assert (a.written, aborted.written, b.written) == ([b"1"], [], [b"3"])
    batch.add(a, b"4")  # the next turn's batch is a new one
    await asyncio.sleep(0)
    assert a.written == [b"1", b"4"]
    many = [_Transport() for _ in range(batch.most + 1)]
    for t in many:
        batch.add(t, b"x")
    # A full batch goes at once (the nodes start answering); the rest at the next turn.
    assert [len(t.written) for t in many] == [1] * batch.most + [0]
    await asyncio.sleep(0)
    assert [len(t.written) for t in many] == [1] * (batch.most + 1)


async def test_a_fan_out_started_in_one_turn_gets_every_answer(serve, pools):
    servers = [await serve() for _ in range(5)]
    clients = [pools(s) for s in servers]
    for _ in range(3):
        answers = await asyncio.gather(*(get(p) for p in clients))
        assert [r.status for r in answers] == [200] * 5
    assert [(s.accepted, len(s.requests)) for s in servers] == [(1, 3)] * 5
