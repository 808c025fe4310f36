"""The tracker's benchmarks: apply throughput against raw inserts, and end-to-end latency.

1. Apply throughput on PostgreSQL. The same event rows (a stream of interleaved corridor
   journeys, as the consumer would fetch it) are inserted idempotently by the raw baselines
   of ``bench.baselines`` into a copy of the ``events`` table; then applied by the
   tracker's own batch handler (``EventsHandler``: decode, insert, lock, fold, ETA, save,
   derived rows; one transaction per batch, as the consumer does). Every batch has the
   consumer's size (``TRACKER_BATCH_SIZE``'s default: the batch a backlog is drained in),
   baselines and tracker alike. It prints events/s and the ratio to the fastest baseline.
2. End to end: the embedded broker, ingest and the tracker as processes (bench/stack.py);
   the simulator's poster sends valid journey events at a steady rate; a sample of events
   is watched: from the ``202`` to the moment ``GET /v1/shipments/{id}`` shows the event
   (its ``counts.events`` reaches the number of unique events acknowledged for the
   shipment so far, which this event completes). p50/p95/p99 are printed, with the
   tracker's own ``recorded_to_applied`` histogram as a cross-check.

Run (PostgreSQL at 127.0.0.1:5432, trust auth; databases are created and dropped):
    python -m bench.tracker --quick     # a short run (~1 min)
    python -m bench.tracker             # the figures of docs/performance.md
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from aiokafka import ConsumerRecord
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench.baselines import BATCH, RAW, one_per_transaction
from bench.tracker_e2e import end_to_end
from corridor import db
from corridor.journeys import Post, plan_journey
from corridor.parties import TrustRules
from corridor.principals import DEMO_PRINCIPALS_FILE, load_registry
from corridor.topology import load_topology
from services.tracker.app import MIGRATIONS, tune_garbage_collector
from services.tracker.consumer import EventsHandler, decode
from services.tracker.db.rows import event_row
from services.tracker.db.unit import SqlUnitOfWork
from services.tracker.domain import TrackedShipment
from services.tracker.handlers import Tracker
from tests.unit.test_tracker_samples import cargo_event

ADMIN_URL = os.environ.get(
    "CORRIDOR_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
DEFAULT_GC = gc.get_threshold()
TOPOLOGY = load_topology()
# The trust rules over the demo principals, as the local run has them.
RULES = TrustRules(TOPOLOGY, load_registry(DEMO_PRINCIPALS_FILE, TOPOLOGY, "local"))


def stream(count: int, seed: int = 7) -> list[Post]:
    """``count`` posts of journeys starting every ~40 minutes, in the order they happen:
    at any moment a few hundred shipments are under way, as on the corridor. Each journey
    starts with its booking (by the joint company), so every event counts: the normal path
    of the trust rules, no event held or refused."""
    rng = random.Random(seed)
    tag = uuid.uuid4().hex[:6]
    start = datetime(2026, 6, 1, tzinfo=UTC)
    posts: list[Post] = []
    journey = 0
    while len(posts) < count * 1.1:
        journey += 1
        begins = start + timedelta(minutes=40 * journey)
        posts += plan_journey(rng, TOPOLOGY, begins, f"B-{tag}-{journey:06d}")
    posts.sort(key=lambda p: p.occurred_at)
    return posts[:count]


def records(posts: Sequence[Post]) -> list[ConsumerRecord]:
    return [
        ConsumerRecord(
            "cargo.events.v1",
            0,
            offset,
            0,
            0,
            post.body["shipment_id"].encode(),
            cargo_event(post).SerializeToString(),
            None,
            0,
            0,
            (),
        )
        for offset, post in enumerate(posts)
    ]


@asynccontextmanager
async def scratch_database(prefix: str, migrations: str) -> AsyncIterator[AsyncEngine]:
    """A fresh PostgreSQL database migrated with ``migrations``, dropped afterwards."""
    name = prefix + uuid.uuid4().hex[:10]
    admin = create_async_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = db.make_engine(url)
    try:
        await db.migrate(engine, migrations)
        yield engine
    finally:
        await engine.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@asynccontextmanager
async def database() -> AsyncIterator[AsyncEngine]:
    """The tracker's schema, and a copy of its ``events`` table for the raw baselines."""
    async with scratch_database("corridor_bench_", MIGRATIONS) as engine:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE raw_events (LIKE events INCLUDING ALL)"))
        yield engine


async def reset(engine: AsyncEngine) -> None:
    """Empty tables, statistics fresh, dirty pages flushed: each run starts alike."""
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE raw_events, events, shipments, section_transits"))
        await conn.execute(text("TRUNCATE segment_times, node_dwells"))
        await conn.execute(text("TRUNCATE set_aside_events, shipment_access"))
    async with engine.connect() as conn:
        await conn.execute(text("COMMIT"))
        await conn.execute(text("VACUUM ANALYZE"))
        await conn.execute(text("CHECKPOINT"))


async def acknowledge(shipments: Sequence[TrackedShipment]) -> list[bool]:
    """Stands in for the broker: every state acknowledged at once (no I/O is measured,
    but the published versions are recorded in the database as in the service)."""
    return [True] * len(shipments)


async def tracker_apply(
    engine: AsyncEngine, batch: list[ConsumerRecord], size: int = BATCH
) -> float:
    handler = EventsHandler(
        Tracker(SqlUnitOfWork(engine, RULES), RULES, publish=acknowledge), TOPOLOGY
    )
    tune_garbage_collector()  # as the service does at start-up
    started = time.perf_counter()
    for start in range(0, len(batch), size):
        letters = await handler(batch[start : start + size])
        assert not letters, letters[0].reason
    rate = len(batch) / (time.perf_counter() - started)
    gc.unfreeze()
    gc.set_threshold(*DEFAULT_GC)
    async with engine.connect() as conn:  # the normal path: every event counted
        aside = (await conn.execute(text("SELECT count(*) FROM set_aside_events"))).scalar()
    assert aside == 0, f"{aside} events set aside"
    return rate


async def throughput(count: int, rounds: int) -> None:
    posts = stream(count)
    batch = records(posts)
    applied_at = datetime.now(UTC)
    rows = [event_row(decode(r.value, TOPOLOGY), applied_at) for r in batch]
    shipments = len({p.body["shipment_id"] for p in posts})
    print(
        f"apply throughput on PostgreSQL: {count} events of {shipments} interleaved journeys, "
        f"batches of {BATCH}, best of {rounds} rounds"
    )
    runs: dict[str, list[float]] = {}
    async with database() as engine:
        for _ in range(rounds):
            await reset(engine)
            sample = rows[: min(len(rows), 2000)]
            runs.setdefault("raw, one row per transaction", []).append(
                await one_per_transaction(engine, sample)
            )
            for name, run in RAW:
                await reset(engine)
                runs.setdefault(f"{name} of {BATCH}", []).append(await run(engine, rows, BATCH))
            await reset(engine)
            runs.setdefault("tracker apply (EventsHandler)", []).append(
                await tracker_apply(engine, batch)
            )
    print_rates(runs)


def print_rates(runs: dict[str, list[float]]) -> dict[str, float]:
    """Print the best of each run against the fastest raw baseline; return the bests."""
    best = {name: max(rates) for name, rates in runs.items()}
    fastest = max(v for k, v in best.items() if k.startswith("raw"))
    for name, rate in best.items():
        every = ", ".join(f"{r:,.0f}" for r in runs[name])
        print(
            f"  {name:<31} {rate:>8,.0f} events/s  {rate / fastest:>6.1%} of fastest raw"
            f"   (runs: {every})"
        )
    return best


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tracker", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer events, a shorter run")
    parser.add_argument("--events", type=int, help="events for the throughput part")
    parser.add_argument("--rate", type=float, default=500.0, help="end-to-end events/s")
    parser.add_argument("--seconds", type=float, help="end-to-end duration")
    parser.add_argument("--rounds", type=int, help="throughput rounds (the best is kept)")
    parser.add_argument("--only", choices=("throughput", "e2e"))
    args = parser.parse_args()
    count = args.events or (10_000 if args.quick else 50_000)
    seconds = args.seconds or (10.0 if args.quick else 30.0)
    if args.only in (None, "throughput"):
        asyncio.run(throughput(count, args.rounds or (2 if args.quick else 3)))
    if args.only in (None, "e2e"):
        asyncio.run(end_to_end(args.rate, seconds, api_every=50))


if __name__ == "__main__":
    main()
