"""The simulator as a load generator for benchmarks: valid posts in bulk, posted at a
fixed rate, with the moment each was answered (for a 202: when the broker had it)."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from corridor.journeys import Post, plan_journey
from corridor.topology import load_topology
from services.ingest.simulator.run import carrier_headers


def sample_posts(count: int, seed: int = 0, now: datetime | None = None) -> list[Post]:
    """``count`` valid posts from journeys planned 28 days back: all in the past (a journey
    takes at most about 22 days), none older than ingest's maximum age (30 days)."""
    topology = load_topology()
    rng = random.Random(seed)
    start = (now or datetime.now(UTC)) - timedelta(days=28)
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
    slots = asyncio.Semaphore(concurrency)
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
        finally:
            slots.release()
        results.append(PostResult(post.event_id, post.carrier, status, sent, time.time()))

    tasks = []
    start = time.monotonic()
    try:
        for index, post in enumerate(posts):
            delay = start + index / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await slots.acquire()
            tasks.append(asyncio.create_task(one(post)))
        await asyncio.gather(*tasks)
    finally:
        if owned:
            await http.aclose()
    return results
