"""The carrier simulator: realistic corridor journeys posted through the public API.

Each journey (``corridor.journeys``: booking, China border, Kazakhstan rail, Aktau or
Kuryk, the Caspian ferry, Baku, the Georgian border, Poti, Batumi or Kars, delivery) is
posted event by event, each as its carrier (key ``demo-<carrier>``), when its time comes
under ``--time-compression``. Journeys are *replayed from the past*: shifted so that the
last event lands at the real moment it is posted, so no ``occurred_at`` is ever in the
future (estimates are capped to 23 h ahead). New journeys start continuously so that the
aggregate rate is about ``--rate`` events per second (after a ramp of one journey's length).

Run it: ``python -m services.ingest.simulator --url http://127.0.0.1:8001 --rate 5``.
It is also the load generator of the benchmarks: see ``sample_posts`` and ``post_at_rate``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import json
import logging
import random
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from corridor.journeys import JourneyOptions, Post, plan_journey, scramble
from corridor.logging import configure_logging
from corridor.topology import Topology, load_topology

log = logging.getLogger("corridor.simulator")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_ATTEMPTS = 8
MAX_BACKOFF_SECONDS = 10.0
# Estimates may be up to a day ahead; keep a margin for clock skew and slow posts.
MAX_ESTIMATE_AHEAD = timedelta(hours=23)


def carrier_key(carrier: str) -> str:
    return f"demo-{carrier}"


@dataclass(frozen=True, slots=True)
class ScheduledPost:
    due: float  # real seconds after the simulator started
    carrier: str
    body: dict[str, Any]


def _shift(body: dict[str, Any], by: timedelta, latest: datetime | None) -> dict[str, Any]:
    """A copy of ``body`` with its times moved by ``by``; ``occurred_at`` at most ``latest``."""
    shifted = dict(body)
    occurred = datetime.fromisoformat(body["occurred_at"]) + by
    if latest is not None and occurred > latest:
        occurred = latest
    shifted["occurred_at"] = occurred.isoformat()
    booking = body.get("booking")
    if booking is not None and booking.get("promised_delivery_at"):
        promised = datetime.fromisoformat(booking["promised_delivery_at"]) + by
        shifted["booking"] = {**booking, "promised_delivery_at": promised.isoformat()}
    return shifted


def schedule_journey(
    rng: random.Random,
    topology: Topology,
    shipment_id: str,
    *,
    started: float,
    now: datetime,
    compression: float,
    duplicate_rate: float = 0.03,
    late_rate: float = 0.05,
    options: JourneyOptions | None = None,
) -> list[ScheduledPost]:
    """The posts of one journey starting at ``started`` (real seconds, when the real
    time is ``now``), in posting order, each due when its simulated time comes."""
    if compression < 1:
        raise ValueError("time compression must be at least 1")
    posts = scramble(
        rng, plan_journey(rng, topology, now, shipment_id, options), duplicate_rate, late_rate
    )
    span = max(p.occurred_at for p in posts) - now
    # Move the journey into the past so that its last event happens as it is posted.
    by = -span * (1 - 1 / compression)
    scheduled: list[ScheduledPost] = []
    due = started
    for post in posts:
        offset = (post.occurred_at - now).total_seconds()
        due = max(due, started + offset / compression)  # late posts keep their lateness
        real_then = now + timedelta(seconds=due - started)
        estimate = post.body.get("classifier", "ACT") != "ACT"
        latest = real_then + MAX_ESTIMATE_AHEAD if estimate else real_then
        scheduled.append(ScheduledPost(due, post.carrier, _shift(post.body, by, latest)))
    return scheduled


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
    """Post one event, retrying 429, 5xx and connection errors with back-off (the same
    ``event_id`` each time, so a retry is safe). Never raises on an HTTP error; returns
    the last status, or ``None`` when the ingest could not be reached."""
    content = json.dumps(body).encode()
    headers = {
        "authorization": f"Bearer {carrier_key(carrier)}",
        "content-type": "application/json",
    }
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


def mean_posts_per_journey(topology: Topology, samples: int = 40) -> float:
    rng = random.Random(0)
    now = datetime.now(UTC)
    total = sum(len(plan_journey(rng, topology, now, f"S-{n}")) for n in range(samples))
    return total / samples


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
    ``max_shipments`` journeys are posted."""
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
                shipment_id = f"SIM-{tag}-{stats.journeys:05d}"
                for post in schedule_journey(
                    rng,
                    topology,
                    shipment_id,
                    started=elapsed,
                    now=datetime.now(UTC),
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


# The benchmark's side: valid posts in bulk, and a fixed-rate poster.


def sample_posts(count: int, seed: int = 0, now: datetime | None = None) -> list[Post]:
    """``count`` valid posts from journeys planned 60 days back (all in the past)."""
    topology = load_topology()
    rng = random.Random(seed)
    start = (now or datetime.now(UTC)) - timedelta(days=60)
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
    still waiting) and record when each was answered (for a 202: when the broker had it)."""
    owned = client is None
    http = client or httpx.AsyncClient(
        timeout=httpx.Timeout(30.0), limits=httpx.Limits(max_connections=concurrency)
    )
    slots = asyncio.Semaphore(concurrency)
    results: list[PostResult] = []

    async def one(post: Post) -> None:
        headers = {
            "authorization": f"Bearer {carrier_key(post.carrier)}",
            "content-type": "application/json",
        }
        sent = time.time()
        status: int | None
        try:
            response = await http.post(
                f"{url}/v1/events", content=json.dumps(post.body).encode(), headers=headers
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="corridor simulate", description="Post demo corridor journeys to ingest."
    )
    parser.add_argument("--url", default="http://127.0.0.1:8001", help="ingest base URL")
    parser.add_argument("--rate", type=float, default=5.0, help="events per second (about)")
    parser.add_argument(
        "--time-compression", type=float, default=3600.0, help="simulated seconds per second"
    )
    parser.add_argument("--seed", type=int, default=None, help="for reproducible journeys")
    parser.add_argument("--duration", type=float, default=None, help="stop after S seconds")
    parser.add_argument("--duplicate-rate", type=float, default=0.03, help="posts sent twice")
    parser.add_argument("--late-rate", type=float, default=0.05, help="posts sent late")
    parser.add_argument("--max-shipments", type=int, default=None, help="journeys to post")
    parser.add_argument("--concurrency", type=int, default=32, help="posts in flight at most")
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.rate <= 0 or args.time_compression < 1:
        raise SystemExit("--rate must be > 0 and --time-compression >= 1")
    configure_logging("simulator", args.log_level)
    options = SimulatorOptions(
        url=args.url.rstrip("/"),
        rate=args.rate,
        time_compression=args.time_compression,
        seed=args.seed,
        duration=args.duration,
        duplicate_rate=args.duplicate_rate,
        late_rate=args.late_rate,
        max_shipments=args.max_shipments,
        concurrency=args.concurrency,
    )

    async def run() -> Stats:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await simulate(options, stop)

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
