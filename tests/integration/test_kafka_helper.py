"""The Kafka helper against the real embedded broker."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord

from corridor import kafka
from corridor.kafka import (
    DeadLetter,
    KafkaMetrics,
    Publisher,
    TopicSpec,
    cloudevent_record,
    dead_letter_record,
    ensure_topics,
    header,
)
from corridor.metrics import make_registry
from corridor.settings import KafkaSettings
from corridor.v1 import common_pb2, events_pb2
from tests.conftest import unique
from tests.support import read_records

pytestmark = pytest.mark.integration


def sample_event(shipment_id: str) -> events_pb2.CargoEvent:
    event = events_pb2.CargoEvent(
        event_id="ev-1",
        carrier="ktz",
        event_type=common_pb2.EVENT_TYPE_DEPARTED,
        classifier=common_pb2.CLASSIFIER_ACT,
        shipment_id=shipment_id,
        container_no="MSCU6639870",
        location="KZAAU",
        mode=common_pb2.MODE_RAIL,
    )
    event.occurred_at.FromDatetime(datetime(2026, 11, 1, 8, 0, tzinfo=UTC))
    event.recorded_at.FromDatetime(datetime(2026, 11, 1, 8, 5, tzinfo=UTC))
    return event


async def test_cargo_event_round_trips_with_key_and_cloudevents_headers(
    kafka_settings: KafkaSettings,
) -> None:
    topic = unique("cargo.events.test")
    await ensure_topics(kafka_settings, [TopicSpec(topic)])
    publisher = Publisher(kafka_settings, "test", KafkaMetrics(make_registry(), "test"))
    await publisher.start()
    shipment_id = unique("SHP")
    event = sample_event(shipment_id)
    try:
        await publisher.publish(
            cloudevent_record(
                topic,
                shipment_id,
                event.SerializeToString(),
                ce_id="ktz/ev-1",
                ce_type=kafka.CE_TYPE_CARGO_EVENT,
                source="/corridor/ingest",
                ce_time=datetime(2026, 11, 1, 8, 5, tzinfo=UTC),
            )
        )
    finally:
        await publisher.stop()

    [record] = await read_records(kafka_settings.bootstrap_servers, topic, lambda rs: len(rs) >= 1)
    assert record.key == shipment_id.encode()
    assert header(record, "ce_specversion") == "1.0"
    assert header(record, "ce_id") == "ktz/ev-1"
    assert header(record, "ce_source") == "/corridor/ingest"
    assert header(record, "ce_type") == "corridor.v1.CargoEvent"
    assert header(record, "ce_time") == "2026-11-01T08:05:00Z"
    assert header(record, "content-type") == "application/protobuf"
    decoded = events_pb2.CargoEvent.FromString(record.value)
    assert decoded == event


async def test_ensure_topics_is_idempotent(kafka_settings: KafkaSettings) -> None:
    specs = [TopicSpec(unique("t.compact"), {"cleanup.policy": "compact"}), TopicSpec(unique("t"))]
    await ensure_topics(kafka_settings, specs)
    await ensure_topics(kafka_settings, specs)
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_settings.bootstrap_servers)
    await consumer.start()
    try:
        topics = await consumer.topics()
        assert {s.name for s in specs} <= topics
        assert consumer.partitions_for_topic(specs[0].name) == {0, 1, 2}
    finally:
        await consumer.stop()


async def test_dead_letter_keeps_the_bytes_and_says_why_and_where_from(
    kafka_settings: KafkaSettings,
) -> None:
    topic = unique("dlq.source")
    await ensure_topics(kafka_settings, [TopicSpec(topic), TopicSpec(kafka.EVENTS_DLQ_TOPIC)])
    publisher = Publisher(kafka_settings, "test")
    await publisher.start()
    try:
        await publisher.publish(kafka.OutgoingRecord(topic, "SHP-1", b"\xff\x00garbage", []))
        [bad] = await read_records(kafka_settings.bootstrap_servers, topic, lambda rs: len(rs) >= 1)
        letter = dead_letter_record(DeadLetter(bad, "cannot decode CargoEvent"), "g-test")
        assert letter.topic == "cargo.events.dlq.v1"
        await publisher.publish(letter)
    finally:
        await publisher.stop()

    def from_my_topic(records: list[ConsumerRecord]) -> list[ConsumerRecord]:
        return [r for r in records if header(r, "dlq_source_topic") == topic]

    records = await read_records(
        kafka_settings.bootstrap_servers, kafka.EVENTS_DLQ_TOPIC, lambda rs: bool(from_my_topic(rs))
    )
    mine = from_my_topic(records)
    assert mine[0].value == b"\xff\x00garbage"
    assert header(mine[0], "dlq_reason") == "cannot decode CargoEvent"
    assert header(mine[0], "dlq_source_offset") == "0"
    assert header(mine[0], "dlq_source_partition") == str(bad.partition)
