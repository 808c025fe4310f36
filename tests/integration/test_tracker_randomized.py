"""Randomized: simulated journeys, posted in a shuffled order with copies, consumed across
a restart of the tracker and replayed in full: every shipment ends as the fold of its unique
events in time order, each event stored once."""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from corridor import db
from corridor.journeys import Post, scramble
from corridor.settings import KafkaSettings
from services.tracker.db import queries
from services.tracker.db.tables import events
from services.tracker.domain import TrackedShipment, fold
from tests.conftest import unique
from tests.integration.test_tracker_consumer import (
    event_record,
    metric,
    publish,
    running_tracker,
    settings_for,
)
from tests.support import eventually
from tests.unit.test_tracker_samples import RULES, START, domain_event, journey

pytestmark = pytest.mark.integration

JOURNEYS = 16


def seed() -> int:
    return int(os.environ.get("TRACKER_TEST_SEED") or random.randrange(1_000_000))


async def test_scrambled_copied_and_replayed_journeys_end_as_the_fold_of_their_events(
    kafka_settings: KafkaSettings, database_url: str
) -> None:
    """One instance consumes part of the stream; a second joins the group (a rebalance);
    the first stops mid-stream (another rebalance; the second resumes from its committed
    offsets) while the rest and a replay of consumed records arrive; finally the whole
    topic is consumed again from the start by a new group, which must change nothing."""
    chosen = seed()
    rng = random.Random(chosen)
    ids = [unique("RND") for _ in range(JOURNEYS)]
    posts: list[Post] = []
    for index, shipment_id in enumerate(ids):
        start = START + timedelta(hours=rng.uniform(0, 96))
        posts += journey(chosen + index, shipment_id, start)
    posts.sort(key=lambda p: p.occurred_at)
    stream = scramble(rng, posts, duplicate_rate=0.1, late_rate=0.2)
    rng.shuffle(stream)
    unique_events = {(p.carrier, p.event_id): domain_event(p) for p in posts}
    settings = settings_for(kafka_settings, database_url, batch_size=50)
    topic = settings.events_topic
    first, rest = stream[: len(stream) // 2], stream[len(stream) // 2 :]
    replayed = rng.sample(first, len(first) // 3)
    engine = db.make_engine(database_url)

    async def stored_events() -> int:
        async with engine.connect() as conn:
            query = select(func.count()).select_from(events)
            return int((await conn.execute(query)).scalar_one())

    def at_least(count: int) -> Callable[[], Awaitable[bool | None]]:
        async def probe() -> bool | None:
            return await stored_events() >= count or None

        return probe

    first_instance, second_instance = AsyncExitStack(), AsyncExitStack()
    try:
        await first_instance.enter_async_context(running_tracker(settings))
        await publish(kafka_settings, [event_record(topic, p) for p in first])
        await eventually(at_least(len(first) // 4), within=30)
        second = settings.model_copy(update={"instance": unique("second")})
        await second_instance.enter_async_context(running_tracker(second))  # a rebalance
        await publish(kafka_settings, [event_record(topic, p) for p in rest[:50]])
        await eventually(at_least(len(first) // 2), within=30)
        await first_instance.aclose()  # stopped mid-stream: another rebalance
        await publish(kafka_settings, [event_record(topic, p) for p in [*rest[50:], *replayed]])
        await eventually(at_least(len(unique_events)), within=60)
        await second_instance.aclose()
        before = await _shipments(engine, ids)
        again = settings.model_copy(update={"consumer_group": unique("tracker-replay")})
        async with running_tracker(again) as client:

            async def replayed_everything() -> bool | None:
                text = (await client.get("/metrics")).text
                seen = metric(text, "corridor_tracker_events_total", {"outcome": "duplicate"})
                return seen >= len(stream) + len(replayed) or None

            await eventually(replayed_everything, within=60)
        after = await _shipments(engine, ids)
        stored = await stored_events()
    finally:
        await second_instance.aclose()
        await first_instance.aclose()
        await engine.dispose()

    note = f"seed {chosen} (set TRACKER_TEST_SEED to replay)"
    assert stored == len(unique_events), note
    copies = Counter(p.body["shipment_id"] for p in [*stream, *replayed])
    for shipment_id in ids:
        mine = [e for e in unique_events.values() if e.shipment_id == shipment_id]
        shipment = after[shipment_id]
        assert shipment.view == fold(shipment_id, mine, RULES), note
        assert shipment.view.events == len(mine), note
        assert (shipment.version, shipment.view) == (
            before[shipment_id].version,
            before[shipment_id].view,
        ), note
        # Every copy beyond the first, then every record again in the replay (more if the
        # broker redelivered something after a rebalance).
        assert shipment.duplicates >= 2 * copies[shipment_id] - len(mine), note


async def _shipments(engine: AsyncEngine, ids: list[str]) -> dict[str, TrackedShipment]:
    found = {}
    async with engine.connect() as conn:
        for shipment_id in ids:
            shipment = await queries.get_shipment(conn, shipment_id)
            assert shipment is not None
            found[shipment_id] = shipment
    return found
