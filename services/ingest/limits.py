"""Request limits: body size (413) and a per-carrier rate limit (429)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from pydantic_core import to_json
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from corridor.problems import PROBLEM_JSON, Problem


class BodySizeLimit:
    """Pure ASGI middleware: answers 413 for a body over ``max_bytes``.

    A declared ``Content-Length`` over the limit is refused before reading anything; a
    chunked body is counted as it streams in and refused as soon as it passes the limit,
    so at most ``max_bytes`` are ever buffered. The body is read here in full and replayed
    to the application, which then never waits on the network.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, send)
                return
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        replayed: Message = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, _replay([replayed], receive), send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        problem = Problem(
            413,
            f"the request body is larger than {self.max_bytes} bytes",
            errors=[{"field": "", "message": "body too large", "code": "too_large"}],
        )
        body = to_json(problem.body(scope.get("path")))
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


class RateLimiter:
    """A token bucket per carrier, in events per second.

    A request is admitted while its carrier's bucket holds at least one token; its events
    are then all taken, possibly leaving the bucket in debt. So a batch larger than the
    burst is never refused for its size alone, and over time a carrier gets ``rate``
    events per second whatever the mix of single posts and batches.
    """

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # carrier -> (tokens, at)

    def admit(self, carrier: str, cost: int = 1) -> float | None:
        """``None`` when admitted (and ``cost`` tokens taken), otherwise the seconds to
        wait before the next request can be admitted."""
        now = self.clock()
        tokens, at = self._buckets.get(carrier, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens < 1:
            self._buckets[carrier] = (tokens, now)
            return (1 - tokens) / self.rate
        self._buckets[carrier] = (tokens - cost, now)
        return None

    def take(self, carrier: str, cost: int) -> None:
        """Take tokens for events counted after admission (the rest of a batch)."""
        tokens, at = self._buckets.get(carrier, (self.burst, self.clock()))
        self._buckets[carrier] = (tokens - cost, at)


def retry_after(seconds: float) -> str:
    """``Retry-After`` in whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
