"""A partner's webhook receiver for the tests: a plain asyncio HTTP/1.1 server on loopback
that records every request (headers and raw body) and answers as told: a status per
request (``fail``: the next n get 500) and, while ``held`` is clear, no answer at all."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def doc(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    requests: list[Received] = field(default_factory=list)
    failures_left: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None
    _connections: set[asyncio.Task[None]] = field(default_factory=set)
    port: int = 0

    def __post_init__(self) -> None:
        self.released.set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/corridor"

    @property
    def named_url(self) -> str:
        """The same receiver by name (``localhost``: resolved, checked, then pinned)."""
        return f"http://localhost:{self.port}/hooks/corridor"

    def fail(self, n: int) -> None:
        self.failures_left = n

    def hold(self) -> None:
        """Requests from now on wait for ``release()`` before they are answered."""
        self.released.clear()
        self.arrived.clear()

    def release(self) -> None:
        self.released.set()

    def delivered(self) -> list[Received]:
        return [r for r in self.requests if 200 <= r.status < 300]

    async def __aenter__(self) -> Receiver:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self.released.set()
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.arrived.set()
                await self.released.wait()
                status = 200
                if self.failures_left > 0:
                    self.failures_left -= 1
                    status = 500
                self.requests.append(Received(headers, body, status))
                reply = b"ok" if status == 200 else b"try later"
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Length: {len(reply)}\r\n\r\n".encode() + reply
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass  # the receiver is closing
        finally:
            self._connections.discard(task)
            writer.close()
