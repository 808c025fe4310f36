"""The tariff's apply throughput beside the tracker's, against the same raw insert.

The same event records (``bench.tracker.stream``: interleaved corridor journeys, each
booked by the joint company, so every event counts) go, in batches of the tariff consumer's
size (``TARIFF_BATCH_SIZE``'s default), through:

- the batched raw baselines (``bench.baselines``: idempotent inserts into a copy of the
  tracker's ``events`` table, one transaction per batch);
- the tracker's batch handler (``EventsHandler``), as ``bench.tracker`` measures it;
- the tariff's consumer path minus the broker: decode, ``Tariff.apply`` (digests, claims
  with their quotes, movements, the trust rules, charges and their revisions, one
  transaction per batch) and the outbox flush (encode, flag) against a publisher that
  acknowledges at once.

Each on a fresh PostgreSQL database (127.0.0.1:5432, trust auth; created and dropped),
rounds interleaved, the best kept. Prints events/s and the share of the fastest raw insert,
and the statements each apply sends per batch. With ``--delay-ms``, both applies run once
more through a proxy that delays every chunk by that much (the fault suite's "slow
database"): what a slow database costs each.

    python -m bench.tariff --quick                 # 10,000 events, 2 rounds
    python -m bench.tariff                         # 50,000 events, 3 rounds
    python -m bench.tariff --delay-ms 2            # and a round on a slow database
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, cast

from aiokafka import ConsumerRecord
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import tracker
from bench.baselines import RAW
from bench.latency_proxy import LatencyProxy
from corridor import db
from corridor.kafka import OutgoingRecord, Publisher
from corridor.metrics import make_registry
from services.tariff.consumer import EventConsumer
from services.tariff.db import MIGRATIONS, sql_units
from services.tariff.handlers import Tariff
from services.tariff.metrics import TariffMetrics
from services.tariff.outbox import Outbox
from services.tariff.rates import load_card_book
from services.tariff.settings import SHIPPED_CARDS, TariffSettings
from services.tracker.consumer import decode
from services.tracker.db.rows import event_row

# The tariff consumer's batch; the baselines and the tracker take the same here (the
# tracker's own figure, at its own batch, is bench.tracker's).
BATCH: int = TariffSettings.model_fields["batch_size"].default
TABLES = "tariff_seen_events, tariff_booking_claims, tariff_movements, tariff_charge_revisions"


class Acknowledging:
    """Stands in for the broker: every record acknowledged at once (the outbox still
    encodes each charge and flags it in the database, as in the service)."""

    async def publish_many(self, records: Sequence[OutgoingRecord]) -> list[Exception | None]:
        return [None] * len(records)


@asynccontextmanager
async def database() -> AsyncIterator[AsyncEngine]:
    """A fresh PostgreSQL database with the tariff's schema, dropped afterwards."""
    async with tracker.scratch_database("corridor_bench_tariff_", MIGRATIONS) as engine:
        yield engine


async def reset(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {TABLES}"))
    async with engine.connect() as conn:
        await conn.execute(text("COMMIT"))
        await conn.execute(text("VACUUM ANALYZE"))
        await conn.execute(text("CHECKPOINT"))


async def tariff_apply(engine: AsyncEngine, batch: list[ConsumerRecord]) -> tuple[float, int]:
    """Events/s through the tariff's consumer (decode, apply, outbox), and the charges."""
    units = sql_units(engine)
    metrics = TariffMetrics(make_registry())
    book = load_card_book(SHIPPED_CARDS, tracker.TOPOLOGY)
    tariff = Tariff(units, book, tracker.TOPOLOGY, metrics, tracker.RULES)
    outbox = Outbox(units, cast(Publisher, Acknowledging()), "cargo.charges.v1")
    consumer = EventConsumer(tariff, outbox)
    started = time.perf_counter()
    for start in range(0, len(batch), BATCH):
        letters = await consumer.handle(batch[start : start + BATCH])
        assert not letters, letters[0].reason
    rate = len(batch) / (time.perf_counter() - started)
    set_aside = sum(
        s.value for m in metrics.set_aside.collect() for s in m.samples if s.name.endswith("_total")
    )
    assert set_aside == 0, f"{set_aside} movements set aside"
    return rate, int(metrics.charges._value.get())


@asynccontextmanager
async def counting(engine: AsyncEngine) -> AsyncIterator[list[int]]:
    """Counts the statements sent on ``engine`` meanwhile (``[n]``)."""
    sent = [0]

    def count(*_: Any) -> None:
        sent[0] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


@asynccontextmanager
async def slowed(engine: AsyncEngine, delay: float) -> AsyncIterator[AsyncEngine]:
    """Another engine on ``engine``'s database, through a proxy delaying every chunk."""
    url = engine.url
    proxy = LatencyProxy(url.host or "127.0.0.1", url.port or 5432, delay)
    await proxy.start()
    slow = db.make_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(False))
    try:
        yield slow
    finally:
        await slow.dispose()
        await proxy.stop()


async def throughput(count: int, rounds: int, delay_ms: float) -> None:
    posts = tracker.stream(count)
    batch = tracker.records(posts)
    shipments = len({p.body["shipment_id"] for p in posts})
    delivered = sum(1 for p in posts if p.body["event_type"] == "DELIVERED")
    print(
        f"apply throughput on PostgreSQL: {count} events of {shipments} interleaved journeys "
        f"({delivered} delivered), batches of {BATCH}, best of {rounds} rounds"
    )
    applied_at = datetime.now(UTC)
    rows: list[dict[str, Any]] = [
        event_row(decode(r.value, tracker.TOPOLOGY), applied_at) for r in batch
    ]
    runs: dict[str, list[float]] = {}
    charged = 0
    async with tracker.database() as engine, database() as tariff_engine:
        for _ in range(rounds):
            for name, run in RAW:
                await tracker.reset(engine)
                runs.setdefault(f"{name} of {BATCH}", []).append(await run(engine, rows, BATCH))
            await tracker.reset(engine)
            async with counting(engine) as tracker_sent:
                runs.setdefault("tracker apply (EventsHandler)", []).append(
                    await tracker.tracker_apply(engine, batch, BATCH)
                )
            await reset(tariff_engine)
            async with counting(tariff_engine) as tariff_sent:
                rate, charged = await tariff_apply(tariff_engine, batch)
            runs.setdefault("tariff apply (consumer)", []).append(rate)
        if delay_ms:
            await tracker.reset(engine)
            await reset(tariff_engine)
            async with slowed(engine, delay_ms / 1000) as slow:
                runs["tracker apply, slow database"] = [
                    await tracker.tracker_apply(slow, batch, BATCH)
                ]
            async with slowed(tariff_engine, delay_ms / 1000) as slow:
                runs["tariff apply, slow database"] = [(await tariff_apply(slow, batch))[0]]
    best = tracker.print_rates(runs)
    ratio = best["tariff apply (consumer)"] / best["tracker apply (EventsHandler)"]
    print(f"  tariff vs tracker apply: ratio {ratio:.2f} ({charged} charges issued per run)")
    batches = -(-count // BATCH)
    print(
        f"  statements per batch of {BATCH} (incl. the outbox / state marks): tracker "
        f"{tracker_sent[0] / batches:.1f}, tariff {tariff_sent[0] / batches:.1f}"
    )
    if delay_ms:
        slow_ratio = best["tariff apply, slow database"] / best["tracker apply, slow database"]
        print(f"  on a database {delay_ms:g} ms away per chunk: tariff vs tracker {slow_ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tariff", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer events and rounds")
    parser.add_argument("--events", type=int, help="events to apply")
    parser.add_argument("--rounds", type=int, help="rounds (the best is kept)")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="a slow-database round")
    args = parser.parse_args()
    count = args.events or (10_000 if args.quick else 50_000)
    asyncio.run(throughput(count, args.rounds or (2 if args.quick else 3), args.delay_ms))


if __name__ == "__main__":
    main()
