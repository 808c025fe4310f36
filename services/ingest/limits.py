"""Request limits: body size (413) and a per-carrier rate limit (429)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, SlidingWindowCounterSupport, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from pydantic_core import to_json
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from corridor.auth import retry_after
from corridor.problems import PROBLEM_JSON, Problem
from services.ingest.batching import Coalescer

__all__ = ["BodySizeLimit", "RateLimiter", "retry_after"]


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
    """Events per carrier over a sliding window, counted in a ``limits`` storage shared by
    every replica (Redis in production), so that the limit holds across replicas; in the
    local run (``memory://``, one process) a token bucket in process (``TokenBuckets``).

    A carrier gets ``burst`` events per window of ``burst / rate`` seconds (at least one
    second). A request is admitted while the window has room for one more event; a batch's
    other events are then counted too, possibly past the limit (a debt the carrier then
    waits off), so that a batch is never refused for its size alone and over time a carrier
    gets ``rate`` events a second whatever its mix of single posts and batches.

    The admissions of one event-loop turn are counted together, one storage call per
    carrier (one Redis round trip for many requests); only when that would pass the limit
    are they counted one by one, to admit exactly as many as there is room for.
    """

    NAMESPACE = "ingest-events"

    def __init__(
        self, storage: Storage, rate: float, burst: float, clock: Callable[[], float] = time.time
    ) -> None:
        if not isinstance(storage, SlidingWindowCounterSupport):
            raise TypeError(f"{type(storage).__name__} cannot count a sliding window")
        self.storage: SlidingWindowCounterSupport = storage
        self.rate = rate
        self.item = RateLimitItemPerSecond(max(1, int(burst)), max(1, round(burst / rate)))
        self.limiter = SlidingWindowCounterRateLimiter(storage)
        self.clock = clock
        # One process (the local run): a token bucket here, the same rate and burst, at a
        # fraction of the cost of the library's in-memory window on the hot path.
        self._shared = not isinstance(storage, MemoryStorage)
        self._local = TokenBuckets(rate, burst)
        self._admit = Coalescer(self._admit_all)

    async def admit(self, carrier: str) -> float | None:
        """``None`` when one event of ``carrier`` is admitted (and counted), otherwise the
        seconds to wait before the next can be."""
        if not self._shared:
            return self._local.admit(carrier)
        [wait] = await self._admit([carrier])
        return wait

    async def charge(self, carrier: str, cost: int) -> None:
        """Count ``cost`` more events of an admitted request (the rest of a batch)."""
        if not self._shared:
            self._local.charge(carrier, cost)
        elif cost > 0:
            await self.storage.acquire_sliding_window_entry(
                self._key(carrier), 2**62, self.item.get_expiry(), cost
            )

    def _key(self, carrier: str) -> str:
        return self.item.key_for(self.NAMESPACE, carrier)

    async def _admit_all(self, carriers: list[str]) -> list[float | None]:
        counts = Counter(carriers)
        taken = await asyncio.gather(*(self._take(c, n) for c, n in counts.items()))
        waits = dict(zip(counts, taken, strict=True))
        results: list[float | None] = []
        admitted: Counter[str] = Counter()
        for carrier in carriers:
            room, wait = waits[carrier]
            admitted[carrier] += 1
            results.append(None if admitted[carrier] <= room else wait)
        return results

    async def _take(self, carrier: str, count: int) -> tuple[int, float]:
        """How many of ``count`` events fit (and are counted), and the wait for the rest."""
        key, expiry, limit = self._key(carrier), self.item.get_expiry(), self.item.amount
        if await self.storage.acquire_sliding_window_entry(key, limit, expiry, count):
            return count, 0.0
        room = 0
        while room < count and await self.storage.acquire_sliding_window_entry(
            key, limit, expiry, 1
        ):
            room += 1
        stats = await self.limiter.get_window_stats(self.item, self.NAMESPACE, carrier)
        return room, max(stats.reset_time - self.clock(), 1 / self.rate)


class TokenBuckets:
    """A token bucket per carrier, in this process: ``burst`` tokens, ``rate`` a second.
    A request is admitted while its carrier's bucket holds a token; a batch's other events
    are taken after, possibly leaving a debt."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # carrier -> (tokens, at)

    def admit(self, carrier: str) -> float | None:
        now = self.clock()
        tokens, at = self._buckets.get(carrier, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens < 1:
            self._buckets[carrier] = (tokens, now)
            return (1 - tokens) / self.rate
        self._buckets[carrier] = (tokens - 1, now)
        return None

    def charge(self, carrier: str, cost: int) -> None:
        tokens, at = self._buckets.get(carrier, (self.burst, self.clock()))
        self._buckets[carrier] = (tokens - cost, at)
