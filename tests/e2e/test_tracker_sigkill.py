"""The tracker as a real process, killed with SIGKILL in the middle of a stream and
restarted: every event is applied exactly once, and every shipment's latest state reaches
the state topic."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiokafka import ConsumerRecord
from sqlalchemy import func, select

from corridor import db
from corridor.devstack import EmbeddedBroker, ManagedProcess, free_port, python_module
from corridor.journeys import Post, scramble
from corridor.kafka import CE_TYPE_CARGO_EVENT, Publisher, cloudevent_record
from corridor.settings import KafkaSettings
from corridor.v1 import shipments_pb2
from services.tracker.db import queries
from services.tracker.db.tables import events
from services.tracker.domain import fold
from tests.conftest import unique
from tests.support import eventually, read_records
from tests.unit.test_tracker_samples import (
    RULES,
    START,
    cargo_event,
    domain_event,
    journey,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
JOURNEYS = 24


def tracker_process(env: dict[str, str], log: Path) -> ManagedProcess:
    return ManagedProcess(
        "tracker", python_module("services.tracker"), env=env, log=log.open("ab"), cwd=ROOT
    )


async def ready(port: int, within: float = 60) -> None:
    """Ready with every check passing, the consumer's included (``/readyz`` answers 200
    while the consumer is still joining, with ``status: degraded``)."""
    async with httpx.AsyncClient(timeout=2) as client:

        async def probe() -> bool | None:
            try:
                response = await client.get(f"http://127.0.0.1:{port}/readyz")
            except httpx.HTTPError:
                return None
            return (response.status_code == 200 and response.json()["status"] == "ready") or None

        await eventually(probe, within=within, interval=0.2)


async def test_a_tracker_killed_mid_stream_applies_every_event_exactly_once_after_a_restart(
    broker: EmbeddedBroker,
    kafka_settings: KafkaSettings,
    new_postgres_database: Callable[[], Awaitable[str]],
    tmp_path: Path,
) -> None:
    """On PostgreSQL, the production database (the same transaction code runs on SQLite,
    which the randomized integration test covers across restarts)."""
    database_url = await new_postgres_database()
    rng = random.Random(7)
    posts: list[Post] = []
    ids = [unique("KILL") for _ in range(JOURNEYS)]
    for index, shipment_id in enumerate(ids):
        posts += journey(300 + index, shipment_id, START + timedelta(hours=rng.uniform(0, 48)))
    posts.sort(key=lambda p: p.occurred_at)
    stream = scramble(rng, posts, duplicate_rate=0.05, late_rate=0.1)
    unique_events = {(p.carrier, p.event_id): domain_event(p) for p in posts}
    topic, states = unique("cargo.events.kill"), unique("cargo.shipments.kill")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "TRACKER_"))}
    env |= {
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "KAFKA_TOPIC_PARTITIONS": "3",
        "TRACKER_PORT": str(port),
        "TRACKER_DATABASE_URL": database_url,
        "TRACKER_EVENTS_TOPIC": topic,
        "TRACKER_SHIPMENTS_TOPIC": states,
        "TRACKER_CONSUMER_GROUP": unique("tracker-kill"),
        "TRACKER_BATCH_SIZE": "20",
        "TRACKER_LOG_LEVEL": "WARNING",
        "TRACKER_ENVIRONMENT": "local",  # the demo principals (production refuses them)
    }
    engine = db.make_engine(database_url)

    async def stored() -> int:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(events))).scalar_one())

    def at_least(count: int) -> Callable[[], Awaitable[bool | None]]:
        async def probe() -> bool | None:
            try:
                return await stored() >= count or None
            except Exception:
                return None  # the schema may not exist yet

        return probe

    publisher = Publisher(kafka_settings, unique("test-carriers"))
    first = tracker_process(env, tmp_path / "tracker-1.log")
    second = tracker_process(env, tmp_path / "tracker-2.log")
    try:
        first.start()
        await ready(port)
        await publisher.start()
        sending = asyncio.create_task(_post_slowly(publisher, topic, stream))
        await eventually(at_least(len(unique_events) // 3), within=30, interval=0.02)
        first.kill()  # SIGKILL, mid-stream: some batches applied, some offsets not committed
        assert not sending.done()
        await sending
        second.start()
        await ready(port)
        await eventually(at_least(len(unique_events)), within=60)
        async with engine.connect() as conn:
            saved = {i: await queries.get_shipment(conn, i) for i in ids}
        assert await stored() == len(unique_events)
    finally:
        await publisher.stop()
        first.kill()
        second.stop()
        await engine.dispose()
    for shipment_id, shipment in saved.items():
        assert shipment is not None
        mine = [e for e in unique_events.values() if e.shipment_id == shipment_id]
        assert shipment.view == fold(shipment_id, mine, RULES)
        assert shipment.view.events == len(mine)

    def latest_versions(records: list[ConsumerRecord]) -> dict[str, int]:
        latest: dict[str, int] = {}
        for record in records:
            state = shipments_pb2.ShipmentState.FromString(record.value)
            latest[state.shipment_id] = max(latest.get(state.shipment_id, 0), state.version)
        return latest

    def all_published(records: list[ConsumerRecord]) -> bool:
        latest = latest_versions(records)
        return all(latest.get(i, 0) >= s.version for i, s in saved.items() if s is not None)

    published = await read_records(kafka_settings.bootstrap_servers, states, all_published)
    assert set(latest_versions(published)) == set(ids)


async def _post_slowly(publisher: Publisher, topic: str, stream: list[Post]) -> None:
    """The stream in small bursts, as carriers post it, so that the kill lands mid-way."""
    for start in range(0, len(stream), 10):
        records = [
            cloudevent_record(
                topic,
                p.body["shipment_id"],
                cargo_event(p).SerializeToString(),
                ce_id=f"{p.carrier}/{p.event_id}",
                ce_type=CE_TYPE_CARGO_EVENT,
                source="/test/carriers",
                ce_time=datetime.now(UTC),
            )
            for p in stream[start : start + 10]
        ]
        assert await publisher.publish_many(records) == [None] * len(records)
        await asyncio.sleep(0.01)
