"""The benchmark's fallback load generator, for machines without wrk.

Keep-alive HTTP/1.1 connections on raw asyncio streams (no HTTP library: it would cost
more CPU than the server under test), each sending pre-built requests one after the
other for a fixed time. On 2 cores it shares the CPU with the server, so its figures are
lower bounds; wrk's are the reference.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def build_requests(host: str, port: int, path: str, items: list[tuple[str, bytes]]) -> list[bytes]:
    """Raw HTTP/1.1 requests, one per ``(api key, JSON body)``."""
    return [
        (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
        for key, body in items
    ]


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def run_load(
    host: str, port: int, requests: list[bytes], connections: int, duration: float
) -> LoadResult:
    cursor = itertools.cycle(requests)
    latencies: list[float] = []
    counts = {"non_2xx": 0, "errors": 0}
    deadline = time.perf_counter() + duration

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                await _exchange(reader, writer, next(cursor), started, latencies, counts)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            counts["errors"] += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    return LoadResult(len(latencies), elapsed, counts["non_2xx"], counts["errors"], latencies)


async def _exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    request: bytes,
    since: float,
    latencies: list[float],
    counts: dict[str, int],
) -> None:
    """Send one request and read its response; its latency runs from ``since``."""
    writer.write(request)
    status = await _read_response(reader)
    latencies.append(time.perf_counter() - since)
    if not 200 <= status < 300:
        counts["non_2xx"] += 1


async def run_at_rate(
    host: str, port: int, requests: list[bytes], rate: float, count: int, connections: int
) -> LoadResult:
    """Send ``count`` requests, the i-th due at ``start + i / rate``, over up to
    ``connections`` keep-alive connections. Latency runs from when a request was *due*,
    so a server that falls behind is not flattered (no coordinated omission)."""
    cursor = itertools.cycle(requests)
    latencies: list[float] = []
    counts = {"non_2xx": 0, "errors": 0, "next": 0}
    start = time.perf_counter() + 0.05

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while counts["next"] < count:
                index = counts["next"]
                counts["next"] += 1
                due = start + index / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await _exchange(reader, writer, next(cursor), due, latencies, counts)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            counts["errors"] += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    elapsed = time.perf_counter() - start
    return LoadResult(len(latencies), elapsed, counts["non_2xx"], counts["errors"], latencies)
