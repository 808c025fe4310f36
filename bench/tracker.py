"""The tracker's benchmarks: apply throughput against raw inserts, and end-to-end latency.

1. Apply throughput on PostgreSQL. The same event rows (a stream of interleaved corridor
   journeys, as the consumer would fetch it) are inserted idempotently
   (``ON CONFLICT DO NOTHING``) by three raw baselines into a copy of the ``events`` table:
   one row per transaction, ORM batches of 500, and arrays sent with ``unnest`` (500 per
   transaction); then applied by the tracker's own batch handler (``EventsHandler``: decode,
   insert, lock, fold, ETA, save, derived rows; one transaction per batch of 500, as the
   consumer does). It prints events/s and the ratio to the fastest baseline.
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
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from corridor import db
from corridor.journeys import Post, plan_journey
from corridor.kafka import SHIPMENTS_TOPIC
from corridor.parties import TrustRules
from corridor.principals import DEMO_PRINCIPALS_FILE, demo_key, load_registry
from corridor.topology import load_topology
from corridor.v1 import shipments_pb2
from services.tracker.app import MIGRATIONS, tune_garbage_collector
from services.tracker.consumer import EventsHandler, decode
from services.tracker.db.rows import event_row
from services.tracker.db.tables import events
from services.tracker.domain import TrackedShipment
from services.tracker.handlers import Tracker
from tests.unit.test_tracker_samples import cargo_event

ADMIN_URL = os.environ.get(
    "CORRIDOR_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
BATCH = 500
DEFAULT_GC = gc.get_threshold()
TOPOLOGY = load_topology()
# The trust rules over the demo principals, as the local run has them.
RULES = TrustRules(TOPOLOGY, load_registry(DEMO_PRINCIPALS_FILE, TOPOLOGY, "local"))
OPERATOR = {"Authorization": f"Bearer {demo_key('corridor-ops')}"}


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
async def database() -> AsyncIterator[AsyncEngine]:
    """A fresh PostgreSQL database with the tracker's schema, dropped afterwards."""
    name = "corridor_bench_" + uuid.uuid4().hex[:10]
    admin = create_async_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = db.make_engine(url)
    try:
        await db.migrate(engine, MIGRATIONS)
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE raw_events (LIKE events INCLUDING ALL)"))
        yield engine
    finally:
        await engine.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


class Base(DeclarativeBase):
    pass


class RawEvent(Base):
    """The ORM baseline's mapping of the copy of ``events``."""

    __table__ = events.to_metadata(Base.metadata, name="raw_events")


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


async def one_per_transaction(engine: AsyncEngine, rows: list[dict[str, Any]]) -> float:
    stmt = pg_insert(RawEvent.__table__).on_conflict_do_nothing()
    started = time.perf_counter()
    for row in rows:
        async with engine.begin() as conn:
            await conn.execute(stmt, [row])
    return len(rows) / (time.perf_counter() - started)


async def orm_batches(engine: AsyncEngine, rows: list[dict[str, Any]]) -> float:
    sessions = async_sessionmaker(engine)
    stmt = pg_insert(RawEvent).on_conflict_do_nothing()
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        async with sessions.begin() as session:
            await session.execute(stmt, rows[start : start + BATCH])
    return len(rows) / (time.perf_counter() - started)


UNNEST = text(
    """
    INSERT INTO raw_events (carrier, event_id, shipment_id, event_type, classifier, rank,
        occurred_at, recorded_at, applied_at, location, mode, container_no, wagon_no, reason,
        booking)
    SELECT * FROM unnest(
        CAST(:carrier AS text[]), CAST(:event_id AS text[]), CAST(:shipment_id AS text[]),
        CAST(:event_type AS text[]), CAST(:classifier AS text[]), CAST(:rank AS smallint[]),
        CAST(:occurred_at AS timestamptz[]), CAST(:recorded_at AS timestamptz[]),
        CAST(:applied_at AS timestamptz[]), CAST(:location AS text[]), CAST(:mode AS text[]),
        CAST(:container_no AS text[]), CAST(:wagon_no AS text[]), CAST(:reason AS text[]),
        CAST(:booking AS json[]))
    ON CONFLICT DO NOTHING
    """
)


async def unnest_arrays(engine: AsyncEngine, rows: list[dict[str, Any]]) -> float:
    import json

    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        columns = {name: [r[name] for r in chunk] for name in chunk[0]}
        columns["booking"] = [None if b is None else json.dumps(b) for b in columns["booking"]]
        async with engine.begin() as conn:
            await conn.execute(UNNEST, columns)
    return len(rows) / (time.perf_counter() - started)


async def acknowledge(shipments: Sequence[TrackedShipment]) -> list[bool]:
    """Stands in for the broker: every state acknowledged at once (no I/O is measured,
    but the published versions are recorded in the database as in the service)."""
    return [True] * len(shipments)


async def tracker_apply(engine: AsyncEngine, batch: list[ConsumerRecord]) -> float:
    handler = EventsHandler(Tracker(engine, RULES, publish=acknowledge), TOPOLOGY)
    tune_garbage_collector()  # as the service does at start-up
    started = time.perf_counter()
    for start in range(0, len(batch), BATCH):
        letters = await handler(batch[start : start + BATCH])
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
            for name, run in (
                ("raw, one row per transaction", one_per_transaction),
                ("raw, ORM batches of 500", orm_batches),
                ("raw, unnest arrays of 500", unnest_arrays),
            ):
                await reset(engine)
                sample = rows[: min(len(rows), 2000)] if "one row" in name else rows
                runs.setdefault(name, []).append(await run(engine, sample))
            await reset(engine)
            runs.setdefault("tracker apply (EventsHandler)", []).append(
                await tracker_apply(engine, batch)
            )
    best = {name: max(rates) for name, rates in runs.items()}
    fastest = max(v for k, v in best.items() if k.startswith("raw"))
    for name, rate in best.items():
        every = ", ".join(f"{r:,.0f}" for r in runs[name])
        print(
            f"  {name:<31} {rate:>8,.0f} events/s  {rate / fastest:>6.1%} of fastest raw"
            f"   (runs: {every})"
        )


class StateWatch:
    """Reads ``cargo.shipments.v1`` during the run: when each shipment's published state
    first counted n events (a state is published right after the commit that made it
    visible in the API, so this is an upper bound of the visibility, and costs the tracker
    nothing)."""

    def __init__(self, bootstrap: str) -> None:
        self.seen: dict[str, list[tuple[int, float]]] = {}
        self._consumer = AIOKafkaConsumer(
            SHIPMENTS_TOPIC,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="latest",
            enable_auto_commit=False,
            fetch_max_wait_ms=10,  # measure the tracker, not the fetch wait
        )

    async def run(self, stop: asyncio.Event) -> None:
        await self._consumer.start()
        try:
            while not stop.is_set():
                batch = await self._consumer.getmany(timeout_ms=50)
                now = time.time()
                for records in batch.values():
                    for record in records:
                        state = shipments_pb2.ShipmentState.FromString(record.value)
                        self.seen.setdefault(state.shipment_id, []).append(
                            (state.counts.events, now)
                        )
        finally:
            await self._consumer.stop()

    def visible_at(self, shipment_id: str, events: int) -> float | None:
        for count, at in self.seen.get(shipment_id, ()):
            if count >= events:
                return at
        return None


class ApiWatch:
    """Polls ``GET /v1/shipments/{id}`` for a few acknowledged events (every 10 ms, until
    ``counts.events`` includes them): the visibility itself, on a small sample so that the
    polling hardly disturbs the tracker."""

    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self.client = client
        self.url = url
        self.latencies: list[float] = []
        self.tasks: list[asyncio.Task[None]] = []

    def watch(self, shipment_id: str, events: int, acknowledged: float) -> None:
        self.tasks.append(asyncio.create_task(self._poll(shipment_id, events, acknowledged)))

    async def _poll(self, shipment_id: str, events: int, acknowledged: float) -> None:
        deadline = acknowledged + 30
        while time.time() < deadline:
            response = await self.client.get(f"{self.url}/v1/shipments/{shipment_id}")
            if response.status_code == 200 and response.json()["counts"]["events"] >= events:
                self.latencies.append(max(0.0, time.time() - acknowledged))
                return
            await asyncio.sleep(0.01)


async def _answer(reader: asyncio.StreamReader) -> int:
    """The status of one HTTP/1.1 response (its body read and dropped)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and int(value):
            await reader.readexactly(int(value))
    return status


async def post_steadily(
    url: str,
    posts: Sequence[Post],
    rate: float,
    on_accepted: Callable[[Post, float], None],
    connections: int = 32,
) -> tuple[float, Counter[int]]:
    """Post the i-th event at ``start + i / rate`` over keep-alive connections, each as its
    demo carrier, calling ``on_accepted`` at each ``202``. Raw HTTP/1.1 on asyncio streams:
    an HTTP library would cost more CPU than the services under test on a 2-core machine."""
    from services.ingest.simulator import carrier_key

    parsed = httpx.URL(url)
    host, port = str(parsed.host), int(parsed.port or 80)
    statuses: Counter[int] = Counter()
    state = {"next": 0}
    start = time.perf_counter() + 0.05

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while state["next"] < len(posts):
                index = state["next"]
                state["next"] += 1
                delay = start + index / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                post = posts[index]
                body = json.dumps(post.body).encode()
                writer.write(
                    f"POST /v1/events HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    f"Authorization: Bearer {carrier_key(post.carrier)}\r\n"
                    f"Content-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                status = await _answer(reader)
                statuses[status] += 1
                if status == 202:
                    on_accepted(post, time.time())
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return time.perf_counter() - start, statuses


async def end_to_end(rate: float, seconds: float, api_every: int) -> None:
    from bench.stack import Stack, StackOptions
    from services.ingest.simulator import sample_posts

    warmup = sample_posts(200, seed=3)
    posts = sample_posts(int(rate * seconds), seed=11)
    workdir = Path(tempfile.mkdtemp(prefix="bench-tracker-"))
    options = StackOptions(database="postgres", services=("ingest", "tracker"))
    print(f"end to end at {rate:g} events/s for {seconds:g} s, PostgreSQL (logs: {workdir})")
    async with Stack(workdir, options) as stack:
        ingest, tracker = stack.url("ingest"), stack.url("tracker")
        # Shipment reads need a principal: an operator reads every shipment.
        async with httpx.AsyncClient(timeout=30, headers=OPERATOR) as reader:
            await post_steadily(ingest, warmup, rate, lambda post, at: None)
            last = warmup[-1].body["shipment_id"]  # consumer joined, caches warm: go
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if (await reader.get(f"{tracker}/v1/shipments/{last}")).status_code == 200:
                    break
                await asyncio.sleep(0.2)
            states = StateWatch(stack.bootstrap_servers)
            api = ApiWatch(reader, tracker)
            stop = asyncio.Event()
            watching = asyncio.create_task(states.run(stop))
            await asyncio.sleep(1.0)  # the state reader is positioned at the end
            counted: dict[str, int] = {}
            acknowledged: list[tuple[str, int, float]] = []

            def accepted(post: Post, at: float) -> None:
                shipment_id = post.body["shipment_id"]
                counted[shipment_id] = counted.get(shipment_id, 0) + 1
                acknowledged.append((shipment_id, counted[shipment_id], at))
                if len(acknowledged) % api_every == 0:
                    api.watch(shipment_id, counted[shipment_id], at)

            elapsed, statuses = await post_steadily(ingest, posts, rate, accepted)
            await asyncio.gather(*api.tasks)
            for _ in range(100):  # up to 10 s for the last states
                if all(states.visible_at(s, n) for s, n, _ in acknowledged[-50:]):
                    break
                await asyncio.sleep(0.1)
            stop.set()
            await watching
            metrics = (await reader.get(f"{tracker}/metrics")).text
    print(
        f"  posted {len(posts)} in {elapsed:.1f} s ({len(posts) / elapsed:.0f}/s), "
        f"answers {dict(statuses)}"
    )
    via_topic = []
    for shipment_id, count, at in acknowledged:
        visible = states.visible_at(shipment_id, count)
        if visible is not None:
            via_topic.append(max(0.0, visible - at))
    _report("202 -> state published (every event)", via_topic, len(acknowledged))
    _report("202 -> visible in GET /v1/shipments/{id} (sample)", api.latencies, len(api.tasks))
    print("  tracker's recorded_to_applied histogram: " + _histogram(metrics))


def _report(what: str, latencies: list[float], of: int) -> None:
    if len(latencies) < 2:
        print(f"  {what}: too few samples ({len(latencies)})")
        return
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    print(
        f"  {what}: p50 {q[49] * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms, "
        f"p99 {q[98] * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms "
        f"({len(latencies)} of {of} seen)"
    )


def _histogram(metrics: str) -> str:
    for family in text_string_to_metric_families(metrics):
        if family.name != "corridor_tracker_recorded_to_applied_seconds":
            continue
        buckets = [
            (float(s.labels["le"]), s.value) for s in family.samples if s.name.endswith("_bucket")
        ]
        total = max(v for _, v in buckets) if buckets else 0
        if not total:
            return "empty"
        parts = []
        for q in (0.5, 0.95, 0.99):
            bound = next(le for le, v in buckets if v >= q * total)
            parts.append(f"p{int(q * 100)} <= {bound * 1000:g} ms")
        return ", ".join(parts) + f" ({total:.0f} events)"
    return "absent"


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
