"""Posting journeys to ingest: one event at a time, as its carrier, retried until it is
accepted or plainly refused. Robust by design: HTTP errors are logged and counted, never
raised; 429, 5xx and connection errors are retried with back-off (the same ``event_id``,
so a retry is safe); a set ``stop`` event ends everything promptly."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import json
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from corridor.clock import utcnow
from corridor.topology import load_topology
from services.ingest.simulator.schedule import (
    ScheduledPost,
    mean_posts_per_journey,
    schedule_journey,
)

log = logging.getLogger("corridor.simulator")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_ATTEMPTS = 8
MAX_BACKOFF_SECONDS = 10.0


def carrier_key(carrier: str) -> str:
    """The API key of a demo carrier."""
    return f"demo-{carrier}"


def carrier_headers(carrier: str) -> dict[str, str]:
    return {"authorization": f"Bearer {carrier_key(carrier)}", "content-type": "application/json"}


@dataclass
class Stats:
    journeys: int = 0
    posted: int = 0
    accepted: int = 0
    rejected: int = 0
    retried: int = 0
    errors: int = 0
    gave_up: int = 0
    by_status: dict[int, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "journeys": self.journeys,
            "posted": self.posted,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "retried": self.retried,
            "errors": self.errors,
            "gave_up": self.gave_up,
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
        }


async def post_event(
    client: httpx.AsyncClient,
    url: str,
    carrier: str,
    body: dict[str, Any],
    stats: Stats,
    stop: asyncio.Event | None = None,
) -> int | None:
    """Post one event; return the last status, or ``None`` if ingest was unreachable."""
    content = json.dumps(body).encode()
    headers = carrier_headers(carrier)
    delay = 0.2
    status: int | None = None
    stats.posted += 1
    for attempt in range(1, MAX_ATTEMPTS + 1):
        wait = delay
        try:
            response = await client.post(f"{url}/v1/events", content=content, headers=headers)
        except httpx.HTTPError as exc:
            stats.errors += 1
            status = None
            log.warning("post failed", extra={"error": repr(exc), "attempt": attempt})
        else:
            status = response.status_code
            stats.by_status[status] = stats.by_status.get(status, 0) + 1
            if status == 202:
                stats.accepted += 1
                return status
            if status not in RETRY_STATUSES:
                stats.rejected += 1
                log.warning(
                    "event rejected",
                    extra={"status": status, "carrier": carrier, "problem": response.text[:500]},
                )
                return status
            with contextlib.suppress(ValueError):
                wait = max(wait, float(response.headers.get("retry-after", "0")))
        if attempt == MAX_ATTEMPTS or (stop is not None and stop.is_set()):
            break
        stats.retried += 1
        if stop is None:
            await asyncio.sleep(min(wait, MAX_BACKOFF_SECONDS))
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), min(wait, MAX_BACKOFF_SECONDS))
        delay = min(delay * 2, MAX_BACKOFF_SECONDS)
    stats.gave_up += 1
    log.error("gave up posting an event", extra={"event_id": body.get("event_id")})
    return status


@dataclass
class SimulatorOptions:
    url: str
    rate: float = 5.0
    time_compression: float = 3600.0
    seed: int | None = None
    duration: float | None = None
    duplicate_rate: float = 0.03
    late_rate: float = 0.05
    max_shipments: int | None = None
    concurrency: int = 32


async def simulate(
    options: SimulatorOptions,
    stop: asyncio.Event | None = None,
    client: httpx.AsyncClient | None = None,
) -> Stats:
    """Post journeys until ``stop`` is set, ``duration`` has passed, or all of
    ``max_shipments`` journeys are posted. New journeys start about every
    (posts per journey / rate) seconds, so that the aggregate rate is about ``rate``."""
    stop = stop or asyncio.Event()
    topology = load_topology()
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    tag = f"{rng.randrange(16**6):06x}"
    interval = mean_posts_per_journey(topology) / options.rate
    stats = Stats()
    queue: list[tuple[float, int, ScheduledPost]] = []
    in_flight: set[asyncio.Task[int | None]] = set()
    slots = asyncio.Semaphore(options.concurrency)
    owned = client is None
    http = client or httpx.AsyncClient(
        timeout=httpx.Timeout(15.0),
        limits=httpx.Limits(max_connections=options.concurrency),
    )
    log.info(
        "simulator started",
        extra={"url": options.url, "rate": options.rate, "seed": seed, "tag": tag},
    )
    started = time.monotonic()
    next_journey = 0.0
    sequence = 0
    last_report = 0.0

    async def send(post: ScheduledPost) -> int | None:
        try:
            return await post_event(http, options.url, post.carrier, post.body, stats, stop)
        finally:
            slots.release()

    try:
        while not stop.is_set():
            elapsed = time.monotonic() - started
            if options.duration is not None and elapsed >= options.duration:
                break
            more = options.max_shipments is None or stats.journeys < options.max_shipments
            if more and elapsed >= next_journey:
                stats.journeys += 1
                for post in schedule_journey(
                    rng,
                    topology,
                    f"SIM-{tag}-{stats.journeys:05d}",
                    started=elapsed,
                    now=utcnow(),
                    compression=options.time_compression,
                    duplicate_rate=options.duplicate_rate,
                    late_rate=options.late_rate,
                ):
                    sequence += 1
                    heapq.heappush(queue, (post.due, sequence, post))
                next_journey += interval * rng.uniform(0.5, 1.5)
                continue
            while queue and queue[0][0] <= elapsed and not stop.is_set():
                await slots.acquire()
                _, _, post = heapq.heappop(queue)
                task = asyncio.create_task(send(post))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            if not more and not queue and not in_flight:
                break
            if elapsed - last_report >= 10:
                last_report = elapsed
                log.info("simulator progress", extra=stats.as_dict())
            wakes = [queue[0][0]] if queue else []
            if more:
                wakes.append(next_journey)
            pause = min([*wakes, elapsed + 1.0]) - elapsed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, min(pause, 1.0)))
        stop.set()  # in-flight retries give up at their next back-off
        if in_flight:
            await asyncio.wait(in_flight, timeout=20)
    finally:
        for task in in_flight:
            task.cancel()
        if owned:
            await http.aclose()
    log.info("simulator stopped", extra=stats.as_dict())
    return stats
