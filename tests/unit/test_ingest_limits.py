"""The body size limit (a pure ASGI middleware) and the per-carrier rate limit (on the
``limits`` library; its Redis storage is in tests/integration/test_ingest_rate_limits.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from corridor.auth import rate_limit_storage
from services.ingest.limits import BodySizeLimit, RateLimiter, retry_after


def memory_limiter(rate: float, burst: float) -> RateLimiter:
    return RateLimiter(rate_limit_storage("memory://"), rate, burst)


async def test_a_carrier_gets_its_burst_then_waits() -> None:
    limiter = memory_limiter(rate=1.0, burst=3.0)
    assert [await limiter.admit("ktz") for _ in range(3)] == [None, None, None]
    wait = await limiter.admit("ktz")
    assert wait is not None
    assert 0 < wait <= 3  # the window is burst / rate seconds


async def test_carriers_are_counted_apart() -> None:
    limiter = memory_limiter(rate=1.0, burst=1.0)
    assert await limiter.admit("ktz") is None
    assert await limiter.admit("ktz") is not None
    assert await limiter.admit("gr") is None


async def test_a_batch_is_admitted_whole_and_its_events_counted_as_a_debt() -> None:
    limiter = memory_limiter(rate=10.0, burst=20.0)
    assert await limiter.admit("ady") is None
    await limiter.charge("ady", 99)  # the rest of a batch of 100 events
    assert await limiter.admit("ady") is not None


async def test_admissions_of_one_turn_are_counted_together_exactly() -> None:
    limiter = memory_limiter(rate=5.0, burst=5.0)
    waits = await asyncio.gather(*(limiter.admit(c) for c in ["ktz"] * 8 + ["gr"] * 2))
    assert [w is None for w in waits] == [True] * 5 + [False] * 3 + [True] * 2
    assert all(w is not None and w > 0 for w in waits[5:8])


def test_retry_after_is_whole_seconds_and_at_least_one() -> None:
    assert [retry_after(0.01), retry_after(1.0), retry_after(1.2)] == ["1", "1", "2"]


class Recorder:
    """An ASGI app that records the body it received."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        self.bodies.append(message["body"])
        assert not message.get("more_body", False)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def http_scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": "/v1/events", "headers": headers}


async def call(
    middleware: BodySizeLimit, scope: dict[str, Any], chunks: list[bytes]
) -> tuple[list[Message], int]:
    """Send ``chunks`` as a streamed body; return the response messages and how many
    chunks the middleware read."""
    sent: list[Message] = []
    read = 0

    async def receive() -> Message:
        nonlocal read
        read += 1
        if read > len(chunks):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    async def send(message: Message) -> None:
        sent.append(message)

    await middleware(scope, receive, send)
    return sent, read


async def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    app = Recorder()
    scope = http_scope([(b"content-length", b"2048")])
    sent, read = await call(BodySizeLimit(app, max_bytes=1024), scope, [b"x" * 2048])
    assert sent[0]["status"] == 413
    assert read == 0
    assert app.bodies == []
    problem = json.loads(sent[1]["body"])
    assert problem["status"] == 413
    assert (b"content-type", b"application/problem+json") in sent[0]["headers"]


async def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit() -> None:
    app = Recorder()
    chunks = [b"x" * 400] * 10  # 4000 bytes, no declared length
    sent, read = await call(BodySizeLimit(app, max_bytes=1000), http_scope([]), chunks)
    assert sent[0]["status"] == 413
    assert read == 3  # 1200 bytes read: no more than one chunk past the limit
    assert app.bodies == []


async def test_a_body_within_the_limit_reaches_the_app_in_one_piece() -> None:
    app = Recorder()
    chunks = [b"a" * 300, b"b" * 300, b"c" * 400]
    sent, _ = await call(BodySizeLimit(app, max_bytes=1000), http_scope([]), chunks)
    assert sent[0]["status"] == 204
    assert app.bodies == [b"a" * 300 + b"b" * 300 + b"c" * 400]
