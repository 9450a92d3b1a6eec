"""Minimal loopback "cache nodes" for benchmarks: asyncio HTTP/1.1 servers that answer
every request with ``200`` and keep the connection alive. They run in a child process so
the control plane under test does not share their event loop.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import socket
from multiprocessing.connection import Connection

# Answer like contrib/varnish/cdnctl.vcl does, so the real VarnishEdge accepts it.
RESPONSE = (b"HTTP/1.1 200 Purged\r\nX-Cdnctl-Result: Purged\r\nX-Cdnctl-Purged: 1\r\n"
            b"Content-Length: 2\r\nConnection: keep-alive\r\n\r\nok")


class _Node(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.buf = self.buf[: end + 4], self.buf[end + 4 :]
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            self.buf = self.buf[length:]
            self.transport.write(RESPONSE)  # type: ignore[attr-defined]


def free_ports(n: int) -> list[int]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _serve(ports: list[int], ready: Connection) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        servers = [await loop.create_server(_Node, "127.0.0.1", p, backlog=1024) for p in ports]
        ready.send(True)
        await asyncio.gather(*(s.serve_forever() for s in servers))

    asyncio.run(main())


def start_nodes(n: int) -> tuple[list[int], mp.Process]:
    ports = free_ports(n)
    parent, child = mp.Pipe()
    proc = mp.Process(target=_serve, args=(ports, child), daemon=True)
    proc.start()
    parent.recv()
    return ports, proc


class RawClient:
    """The raw limit: one kept-alive connection per node, a PURGE to each, wait for all."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.conns: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def connect(self) -> None:
        for p in self.ports:
            self.conns.append(await asyncio.open_connection("127.0.0.1", p))

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   request: bytes) -> None:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await reader.readexactly(length)

    async def purge(self, path: str, host: str) -> None:
        req = f"PURGE {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n".encode()
        await asyncio.gather(*(self._one(r, w, req) for r, w in self.conns))

    async def close(self) -> None:
        for _, w in self.conns:
            w.close()
