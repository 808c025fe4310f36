"""Both consumers (tracker, tariff) survive what a real cluster does to them, with no
restart of their own: the one loop of ``corridor.kafka`` retries, and its watchdog reports
``/readyz`` degraded (the API keeps serving reads) and then turns ``/healthz`` red when
records wait and nothing moves."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import ConsumerRecord
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from bench.reconcile import tracker_timeline
from corridor.clock import utcnow
from corridor.devstack import EmbeddedBroker
from corridor.kafka import (
    ConsumerLoop,
    DeadLetter,
    KafkaMetrics,
    OutgoingRecord,
    Publisher,
    TopicSpec,
    ensure_topics,
)
from corridor.metrics import make_registry
from corridor.settings import KafkaSettings
from services.tariff.app import create_app as create_tariff
from services.tariff.db import ChargeRow, SeenEventRow
from services.tariff.settings import TariffSettings
from tests.conftest import unique
from tests.integration import test_ingest_broker_stall as stall
from tests.integration.test_tracker_consumer import running_tracker, settings_for
from tests.support import eventually
from tests.tariff_support import AS_OPERATOR, long_aktau_journey, record

pytestmark = pytest.mark.integration

own_broker = stall.own_broker  # a broker of this test alone: it is paused
# The default: aiokafka sends JoinGroup with the request timeout, and the embedded broker
# holds a JoinGroup several seconds (so 5 s already fails to join).
REQUEST_TIMEOUT_MS = 10_000
# Longer than the request timeout and than the bound of one client call (10 s + 5 s).
STALL_SECONDS = 16.0
SHIPMENTS = 6


def kafka_for(broker: EmbeddedBroker) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=broker.bootstrap_servers,
        topic_partitions=3,
        request_timeout_ms=REQUEST_TIMEOUT_MS,
        publish_timeout_seconds=1.0,
    )


def tariff_settings(kafka: KafkaSettings, database: Path, **more: Any) -> TariffSettings:
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{database}",
        "kafka": kafka,
        "events_topic": unique("cargo.events.test"),
        "charges_topic": unique("cargo.charges.test"),
        "consumer_group": unique("tariff"),
        "outbox_interval_seconds": 0.5,
        **more,
    }
    return TariffSettings(**values)


@asynccontextmanager
async def running_tariff(settings: TariffSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_tariff(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://tariff", headers=AS_OPERATOR
        ) as client:
            await eventually(partial_status(client, "/readyz", 200), within=30)
            yield client


def partial_status(client: httpx.AsyncClient, path: str, status: int) -> Any:
    async def probe() -> bool | None:
        return (await client.get(path)).status_code == status or None

    return probe


async def feed(kafka: KafkaSettings, records: list[OutgoingRecord], sent: list[int]) -> None:
    """Publish like ingest does: a record refused or unacknowledged is sent again (same
    ``ce_id``), until every one is acknowledged."""
    publisher = Publisher(kafka, unique("test-carriers"))
    await publisher.start()
    try:
        for start in range(0, len(records), 5):
            chunk = records[start : start + 5]
            for _ in range(300):  # a minute at most
                if not any(await publisher.publish_many(chunk)):
                    break
                await asyncio.sleep(0.2)
            else:
                raise TimeoutError("the broker never acknowledged")
            sent[0] += len(chunk)
    finally:
        await publisher.stop()


async def test_both_consumers_resume_after_a_broker_stall_under_load_and_apply_everything_once(
    own_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    kafka = kafka_for(own_broker)
    tracker = settings_for(kafka, f"sqlite+aiosqlite:///{tmp_path / 'tracker.db'}")
    tariff = tariff_settings(kafka, tmp_path / "tariff.db", events_topic=tracker.events_topic)
    start = utcnow() - timedelta(days=25)
    shipments = [unique("SHP") for _ in range(SHIPMENTS)]
    posts = sorted(
        (p for n, s in enumerate(shipments) for p in long_aktau_journey(s, start, seed=7 + n)),
        key=lambda p: p.occurred_at,
    )
    records = [record(tracker.events_topic, p) for p in posts]
    expected: dict[str, set[tuple[str, str]]] = {s: set() for s in shipments}
    for post in posts:
        expected[post.body["shipment_id"]].add((post.carrier, post.event_id))

    async with AsyncExitStack() as stack:
        tracker_client = await stack.enter_async_context(running_tracker(tracker))
        tariff_client = await stack.enter_async_context(running_tariff(tariff))
        sent = [0]
        feeding = asyncio.create_task(feed(kafka, records, sent))

        async def a_third_sent() -> bool | None:
            return sent[0] >= len(records) // 3 or None

        await eventually(a_third_sent, within=30, interval=0.05)
        own_broker.pause()
        try:
            await asyncio.sleep(STALL_SECONDS)  # the fault's duration, not a synchronisation
        finally:
            own_broker.resume()
        await asyncio.wait_for(feeding, 60)

        async def tracker_has_everything() -> bool | None:
            for shipment_id in shipments:
                timeline = await tracker_timeline(tracker_client, "", shipment_id)
                if {(e["carrier"], e["event_id"]) for e in timeline} != expected[shipment_id]:
                    return None
            return True

        async def tariff_charged_everyone() -> bool | None:
            for shipment_id in shipments:
                response = await tariff_client.get(f"/v1/shipments/{shipment_id}/charges")
                if response.status_code != 200 or not response.json()["charges"]:
                    return None
            return True

        await eventually(tracker_has_everything, within=45, interval=0.5)
        await eventually(tariff_charged_everyone, within=30, interval=0.5)

        # Nothing applied twice: no copies in a timeline, unique-event counts as posted...
        for shipment_id in shipments:
            timeline = await tracker_timeline(tracker_client, "", shipment_id)
            assert len(timeline) == len(expected[shipment_id])
            shown = (await tracker_client.get(f"/v1/shipments/{shipment_id}")).json()
            assert shown["counts"]["events"] == len(expected[shipment_id])
            charges = (await tariff_client.get(f"/v1/shipments/{shipment_id}/charges")).json()
            assert len(charges["charges"]) == 1
        # ...and the tariff's database saw each event once and charged each shipment once.
        engine = create_async_engine(tariff.database_url)
        try:
            async with engine.connect() as conn:
                seen = await conn.scalar(select(func.count()).select_from(SeenEventRow))
                revisions = await conn.scalar(select(func.count()).select_from(ChargeRow))
        finally:
            await engine.dispose()
        assert (seen, revisions) == (len(posts), SHIPMENTS)
        for client in (tracker_client, tariff_client):
            await eventually(partial_status(client, "/readyz", 200), within=30)
            assert (await client.get("/healthz")).status_code == 200


async def test_a_loop_that_cannot_start_retries_until_the_broker_answers_then_consumes(
    own_broker: EmbeddedBroker,
) -> None:
    """The failure that used to end the tracker's loop for good: the client's start."""
    kafka = kafka_for(own_broker)
    topic = unique("cargo.events.test")
    await ensure_topics(kafka, [TopicSpec(topic)])
    records = [OutgoingRecord(topic, f"k{n}", b"v", []) for n in range(10)]
    await feed(kafka, records, [0])
    seen: list[ConsumerRecord] = []

    async def handle(batch: list[ConsumerRecord]) -> list[DeadLetter]:
        seen.extend(batch)
        return []

    metrics = KafkaMetrics(make_registry(), "test")
    loop = ConsumerLoop(
        kafka, unique("g"), [topic], handle, Publisher(kafka, "test"), metrics, "test"
    )

    async def start_failed() -> bool | None:
        return float(metrics.client_errors.labels("start")._value.get()) >= 1 or None

    stop = asyncio.Event()
    own_broker.pause()
    try:
        task = asyncio.create_task(loop.run(stop))
        await eventually(start_failed, within=30, interval=0.2)
    finally:
        own_broker.resume()

    async def all_seen() -> bool | None:
        return len({(r.partition, r.offset) for r in seen}) == len(records) or None

    try:
        await eventually(all_seen, within=40, interval=0.2)
        assert not task.done()
        assert loop.ready()
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@contextmanager
def locked(database: Path) -> Iterator[None]:
    """Another process's write transaction holds the SQLite database: no batch commits."""
    conn = sqlite3.connect(database, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        conn.rollback()
        conn.close()


@pytest.mark.parametrize("service", ["tracker", "tariff"])
async def test_a_loop_kept_from_progressing_turns_readyz_degraded_then_healthz_red_and_recovers(
    service: str, kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    database = tmp_path / f"{service}.db"
    graces = {"consumer_ready_grace_seconds": 1.0, "consumer_live_grace_seconds": 3.0}
    shipment_id = unique("SHP")
    posts = long_aktau_journey(shipment_id, utcnow() - timedelta(days=25))
    async with AsyncExitStack() as stack:
        if service == "tracker":
            settings = settings_for(kafka_settings, f"sqlite+aiosqlite:///{database}", **graces)
            client = await stack.enter_async_context(running_tracker(settings))
            topic = settings.events_topic
        else:
            tariff = tariff_settings(kafka_settings, database, **graces)
            client = await stack.enter_async_context(running_tariff(tariff))
            topic = tariff.events_topic
        assert (await client.get("/healthz")).json() == {
            "status": "ok",
            "checks": {"consumer": True},
        }

        with locked(database):
            await feed(kafka_settings, [record(topic, p) for p in posts], [0])
            await eventually(partial_status(client, "/healthz", 503), within=30)
            body = (await client.get("/healthz")).json()
            assert body["checks"] == {"consumer": False}
            assert body["type"] == "/problems/not-alive"
            # Reads need the database only: the pod stays in the Service, degraded.
            ready = await client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json()["status"] == "degraded"
            assert ready.json()["degraded"] == ["consumer"]

        await eventually(partial_status(client, "/healthz", 200), within=30)

        async def fully_ready() -> bool | None:
            return (await client.get("/readyz")).json()["status"] == "ready" or None

        await eventually(fully_ready, within=30)
