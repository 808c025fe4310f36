"""The simulator as a load generator for benchmarks: valid posts in bulk, posted at a
fixed rate, with the moment each was answered (for a 202: when the broker had it)."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import httpx

from corridor.clock import utcnow
from corridor.journeys import Post, plan_journey
from corridor.topology import load_topology
from services.ingest.simulator.run import carrier_headers

T = TypeVar("T")


def sample_posts(count: int, seed: int = 0, now: datetime | None = None) -> list[Post]:
    """``count`` valid posts from journeys planned 28 days back: all in the past (a journey
    takes at most about 22 days), none older than ingest's maximum age (30 days)."""
    topology = load_topology()
    rng = random.Random(seed)
    start = (now or utcnow()) - timedelta(days=28)
    tag = f"{rng.randrange(16**6):06x}"
    posts: list[Post] = []
    journey = 0
    while len(posts) < count:
        journey += 1
        posts += plan_journey(rng, topology, start, f"BENCH-{tag}-{journey:06d}")
    return posts[:count]


@dataclass(frozen=True, slots=True)
class PostResult:
    event_id: str
    carrier: str
    status: int | None
    sent_at: float  # wall clock (time.time())
    answered_at: float


async def paced(
    items: Sequence[T], rate: float, send: Callable[[T], Awaitable[None]], concurrency: int
) -> None:
    """Start ``send`` for the i-th item at ``start + i / rate`` (later if ``concurrency``
    sends are still running), and wait for them all. The one paced loop of the simulator's
    load and of the fault suite (bench/faults.py), which differ only in what a send does."""
    slots = asyncio.Semaphore(concurrency)

    async def one(item: T) -> None:
        try:
            await send(item)
        finally:
            slots.release()

    tasks = []
    start = time.monotonic()
    for index, item in enumerate(items):
        delay = start + index / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await slots.acquire()
        tasks.append(asyncio.create_task(one(item)))
    await asyncio.gather(*tasks)


async def post_at_rate(
    url: str,
    posts: Sequence[Post],
    rate: float,
    *,
    concurrency: int = 64,
    client: httpx.AsyncClient | None = None,
) -> list[PostResult]:
    """Post the i-th event at ``start + i / rate`` (later if ``concurrency`` posts are
    still waiting), once each, and record when each was answered."""
    owned = client is None
    http = client or httpx.AsyncClient(
        timeout=httpx.Timeout(30.0), limits=httpx.Limits(max_connections=concurrency)
    )
    results: list[PostResult] = []

    async def one(post: Post) -> None:
        sent = time.time()
        status: int | None
        try:
            response = await http.post(
                f"{url}/v1/events",
                content=json.dumps(post.body).encode(),
                headers=carrier_headers(post.carrier),
            )
            status = response.status_code
        except httpx.HTTPError:
            status = None
        results.append(PostResult(post.event_id, post.carrier, status, sent, time.time()))

    try:
        await paced(posts, rate, one, concurrency)
    finally:
        if owned:
            await http.aclose()
    return results
