"""The tracker as composed by its app (consumer loop, database, publisher) against the real
broker and both databases: events in, state and dead letters out."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import ConsumerRecord
from prometheus_client.parser import text_string_to_metric_families

from corridor.journeys import Post
from corridor.kafka import (
    CE_TYPE_CARGO_EVENT,
    EVENTS_DLQ_TOPIC,
    OutgoingRecord,
    Publisher,
    cloudevent_record,
    header,
)
from corridor.principals import demo_key
from corridor.settings import KafkaSettings
from corridor.v1 import shipments_pb2
from services.tracker.app import create_app
from services.tracker.domain import fold
from services.tracker.settings import TrackerSettings
from tests.conftest import unique
from tests.support import eventually, read_records
from tests.unit.test_tracker_samples import RULES, cargo_event, domain_event, journey

pytestmark = pytest.mark.integration

Body = dict[str, Any]
OPERATOR = {"Authorization": f"Bearer {demo_key('corridor-ops')}"}


def settings_for(kafka: KafkaSettings, database_url: str, **more: Any) -> TrackerSettings:
    """A tracker of its own: unique topics and consumer group."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "kafka": kafka,
        "events_topic": unique("cargo.events.test"),
        "shipments_topic": unique("cargo.shipments.test"),
        "consumer_group": unique("tracker"),
        "instance": unique("test"),
        "stats_refresh_seconds": 0,
        "gauge_refresh_seconds": 0.2,
        **more,
    }
    return TrackerSettings(**values)


@asynccontextmanager
async def running_tracker(settings: TrackerSettings) -> AsyncIterator[httpx.AsyncClient]:
    """The tracker app with its lifespan (migrations, consumer, publisher), and a client
    that reads as an operator."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://tracker", headers=OPERATOR
        ) as client:

            async def ready() -> bool | None:
                return (await client.get("/readyz")).status_code == 200 or None

            await eventually(ready, within=30)
            yield client


def event_record(topic: str, post: Post, value: bytes | None = None) -> OutgoingRecord:
    return cloudevent_record(
        topic,
        post.body["shipment_id"],
        value if value is not None else cargo_event(post).SerializeToString(),
        ce_id=f"{post.carrier}/{post.event_id}",
        ce_type=CE_TYPE_CARGO_EVENT,
        source="/test/carriers",
        ce_time=datetime.now(UTC),
    )


async def publish(kafka: KafkaSettings, records: Sequence[OutgoingRecord]) -> None:
    publisher = Publisher(kafka, unique("test-carriers"))
    await publisher.start()
    try:
        for start in range(0, len(records), 500):
            results = await publisher.publish_many(records[start : start + 500])
            assert results == [None] * len(results)
    finally:
        await publisher.stop()


async def publish_posts(kafka: KafkaSettings, topic: str, posts: Sequence[Post]) -> None:
    await publish(kafka, [event_record(topic, p) for p in posts])


def shipment_where(
    client: httpx.AsyncClient, shipment_id: str, condition: Callable[[Body], bool]
) -> Callable[[], Any]:
    async def probe() -> Body | None:
        response = await client.get(f"/v1/shipments/{shipment_id}")
        if response.status_code != 200:
            return None
        body: Body = response.json()
        return body if condition(body) else None

    return probe


def metric(text: str, name: str, labels: dict[str, str] | None = None) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(
                sample.labels.get(k) == v for k, v in (labels or {}).items()
            ):
                return float(sample.value)
    raise KeyError(name)


async def test_a_journey_is_tracked_once_and_every_change_is_published(
    kafka_settings: KafkaSettings, database_url: str
) -> None:
    settings = settings_for(kafka_settings, database_url)
    shipment_id = unique("SHP")
    posts = journey(21, shipment_id)
    expected = fold(shipment_id, [domain_event(p) for p in posts], RULES)
    async with running_tracker(settings) as client:
        await publish_posts(kafka_settings, settings.events_topic, [*posts, *posts[:5]])
        body = await eventually(
            shipment_where(
                client,
                shipment_id,
                lambda b: b["counts"] == {"events": len(posts), "duplicates": 5, "set_aside": 0},
            ),
            within=30,
        )

        async def gauges_refreshed() -> str | None:
            text = (await client.get("/metrics")).text
            delivered = metric(text, "corridor_tracker_shipments", {"status": "DELIVERED"})
            return text if delivered == 1 else None

        metrics = await eventually(gauges_refreshed, within=10)
    assert body["status"] == "DELIVERED"
    assert body["current_location"] == expected.current_location
    assert body["destination"] == expected.destination
    assert [s["country"] for s in body["sections"]] == [s.country for s in expected.sections]
    assert [d["node"] for d in body["dwells"]] == [d.node for d in expected.dwells]
    assert body["eta"] is None
    assert metric(metrics, "corridor_tracker_events_total", {"outcome": "applied"}) == len(posts)
    assert metric(metrics, "corridor_tracker_events_total", {"outcome": "duplicate"}) == 5
    assert metric(metrics, "corridor_tracker_shipments", {"status": "IN_TRANSIT"}) == 0
    assert metric(metrics, "corridor_tracker_node_shipments", {"node": "KZAAU"}) == 0
    assert metric(metrics, "corridor_tracker_section_target_seconds", {"country": "KZ"}) == 432000
    closed = [s for s in expected.sections if s.exited_at is not None]
    assert sum(
        metric(metrics, "corridor_tracker_section_transit_seconds_count", {"country": c})
        for c in {s.country for s in closed}
    ) == len(closed)
    assert metric(
        metrics, "corridor_tracker_cargo_kilograms_total", {"section": "KZ"}
    ) == pytest.approx(expected.gross_weight_kg)
    dwells = [d for d in expected.dwells if d.departed_at is not None]
    assert sum(
        metric(metrics, "corridor_tracker_dwell_seconds_count", {"node": d})
        for d in {d.node for d in dwells}
    ) == len(dwells)
    assert metric(metrics, "corridor_tracker_recorded_to_applied_seconds_count") == len(posts)

    def final_state_seen(records: list[ConsumerRecord]) -> bool:
        return any(
            shipments_pb2.ShipmentState.FromString(r.value).version == body["version"]
            for r in records
        )

    states = await read_records(
        kafka_settings.bootstrap_servers, settings.shipments_topic, final_state_seen
    )
    decoded = [shipments_pb2.ShipmentState.FromString(r.value) for r in states]
    assert {r.key for r in states} == {shipment_id.encode()}
    assert {header(r, "ce_type") for r in states} == {"corridor.v1.ShipmentState"}
    last = max(decoded, key=lambda s: s.version)
    assert last.status == shipments_pb2.SHIPMENT_STATUS_DELIVERED
    assert last.counts.events == len(posts)
    assert [s.country for s in last.sections] == [s.country for s in expected.sections]


async def test_records_that_cannot_be_applied_are_dead_lettered_and_consumption_goes_on(
    kafka_settings: KafkaSettings, database_url: str
) -> None:
    settings = settings_for(kafka_settings, database_url)
    topic = settings.events_topic
    shipment_id = unique("SHP")
    posts = journey(22, shipment_id)[:3]
    unknown_node = cargo_event(posts[1])
    unknown_node.event_id, unknown_node.location = "bad-node", "XXZZZ"
    async with running_tracker(settings) as client:
        await publish(
            kafka_settings,
            [
                event_record(topic, posts[0], b"\xff\xff\xff not protobuf"),
                event_record(topic, posts[1], unknown_node.SerializeToString()),
                *(event_record(topic, p) for p in posts),
            ],
        )
        await eventually(
            shipment_where(client, shipment_id, lambda b: b["counts"]["events"] == 3),
            within=30,
        )
        metrics = (await client.get("/metrics")).text

    def mine(records: list[ConsumerRecord]) -> list[ConsumerRecord]:
        return [r for r in records if header(r, "dlq_source_topic") == topic]

    letters = mine(
        await read_records(
            kafka_settings.bootstrap_servers, EVENTS_DLQ_TOPIC, lambda rs: len(mine(rs)) >= 2
        )
    )
    reasons = sorted(str(header(r, "dlq_reason")) for r in letters)
    assert reasons[0].startswith("undecodable CargoEvent: ")
    assert reasons[1] == "unknown node 'XXZZZ' in location"
    assert {r.key for r in letters} == {shipment_id.encode()}
    assert metric(metrics, "corridor_tracker_events_total", {"outcome": "dead_lettered"}) == 2


async def test_a_conflicting_duplicate_is_dead_lettered_and_changes_nothing(
    kafka_settings: KafkaSettings, database_url: str
) -> None:
    """A carrier's event_id reused with different content, whether already stored or twice
    in one batch: the copy is dead-lettered with its reason; an identical copy is not."""
    settings = settings_for(kafka_settings, database_url)
    topic = settings.events_topic
    shipment_id = unique("SHP")
    posts = journey(23, shipment_id)[:4]
    moved = Post(posts[2].carrier, {**posts[2].body, "location": "KZALA"}, posts[2].occurred_at)
    async with running_tracker(settings) as client:
        await publish_posts(kafka_settings, topic, posts)
        first = await eventually(
            shipment_where(client, shipment_id, lambda b: b["counts"]["events"] == 4), within=30
        )
        await publish_posts(kafka_settings, topic, [moved, posts[3]])
        await eventually(
            shipment_where(client, shipment_id, lambda b: b["counts"]["duplicates"] == 1),
            within=30,
        )

        def mine(records: list[ConsumerRecord]) -> list[ConsumerRecord]:
            return [r for r in records if header(r, "dlq_source_topic") == topic]

        letters = mine(
            await read_records(
                kafka_settings.bootstrap_servers, EVENTS_DLQ_TOPIC, lambda rs: len(mine(rs)) >= 1
            )
        )
        last = (await client.get(f"/v1/shipments/{shipment_id}")).json()
    assert len(letters) == 1
    reason = str(header(letters[0], "dlq_reason"))
    assert reason.startswith("conflicting duplicate: ")
    assert reason.endswith("different location")
    assert (last["version"], last["current_location"]) == (
        first["version"],
        first["current_location"],
    )
