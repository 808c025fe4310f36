"""Dead letters: a record that can never be processed, kept byte for byte with why and
where from, so that the consumer can move on; and the latest of them read back, for the
operators' view (``recent_dead_letters``)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from corridor.kafka.cloudevents import OutgoingRecord
from corridor.kafka.topics import EVENTS_DLQ_TOPIC, client_options
from corridor.settings import KafkaSettings

# Dead-letter headers: why, and where the record came from.
DLQ_REASON = "dlq_reason"
DLQ_SOURCE_TOPIC = "dlq_source_topic"
DLQ_SOURCE_PARTITION = "dlq_source_partition"
DLQ_SOURCE_OFFSET = "dlq_source_offset"
DLQ_CONSUMER_GROUP = "dlq_consumer_group"


@dataclass(frozen=True)
class DeadLetter:
    record: ConsumerRecord
    reason: str


def dead_letter_record(letter: DeadLetter, group_id: str) -> OutgoingRecord:
    """The original bytes, key and headers, plus why and where from."""
    source = letter.record
    key = bytes(source.key).decode(errors="replace") if source.key is not None else ""
    headers = [(k, bytes(v)) for k, v in (source.headers or ())]
    headers += [
        (DLQ_REASON, letter.reason[:1000].encode()),
        (DLQ_SOURCE_TOPIC, source.topic.encode()),
        (DLQ_SOURCE_PARTITION, str(source.partition).encode()),
        (DLQ_SOURCE_OFFSET, str(source.offset).encode()),
        (DLQ_CONSUMER_GROUP, group_id.encode()),
    ]
    return OutgoingRecord(EVENTS_DLQ_TOPIC, key, bytes(source.value or b""), headers)


@dataclass(frozen=True)
class KeptDeadLetter:
    """A dead letter as the topic keeps it: where and why, not its bytes (an operator's
    view lists them; the record itself stays on the topic)."""

    partition: int
    offset: int
    timestamp_ms: int
    key: str
    reason: str
    source_topic: str
    source_partition: str
    source_offset: str
    consumer_group: str
    size: int


def _kept(record: ConsumerRecord) -> KeptDeadLetter:
    headers = {k: bytes(v).decode(errors="replace") for k, v in (record.headers or ())}
    return KeptDeadLetter(
        partition=record.partition,
        offset=record.offset,
        timestamp_ms=int(record.timestamp),
        key=bytes(record.key).decode(errors="replace") if record.key is not None else "",
        reason=headers.get(DLQ_REASON, ""),
        source_topic=headers.get(DLQ_SOURCE_TOPIC, ""),
        source_partition=headers.get(DLQ_SOURCE_PARTITION, ""),
        source_offset=headers.get(DLQ_SOURCE_OFFSET, ""),
        consumer_group=headers.get(DLQ_CONSUMER_GROUP, ""),
        size=len(record.value or b""),
    )


async def recent_dead_letters(
    settings: KafkaSettings, limit: int, within: float = 5.0
) -> list[KeptDeadLetter]:
    """The latest ``limit`` dead letters of each partition of the dead-letter topic, newest
    first (at most ``limit`` in all). Reads without a consumer group (commits nothing);
    ``TimeoutError`` after ``within`` seconds."""
    consumer = AIOKafkaConsumer(group_id=None, enable_auto_commit=False, **client_options(settings))
    letters: list[KeptDeadLetter] = []
    try:
        async with asyncio.timeout(within):
            await consumer.start()
            await consumer.topics()  # loads the cluster's metadata
            partitions = consumer.partitions_for_topic(EVENTS_DLQ_TOPIC) or set()
            assigned = [TopicPartition(EVENTS_DLQ_TOPIC, p) for p in sorted(partitions)]
            if not assigned:
                return []
            consumer.assign(assigned)
            starts = await consumer.beginning_offsets(assigned)
            ends = await consumer.end_offsets(assigned)
            for tp in assigned:
                consumer.seek(tp, max(starts[tp], ends[tp] - limit))
            remaining = {tp for tp in assigned if ends[tp] > starts[tp]}
            while remaining:
                batch = await consumer.getmany(*remaining, timeout_ms=200)
                for records in batch.values():
                    letters.extend(_kept(r) for r in records)
                for tp in list(remaining):
                    if await consumer.position(tp) >= ends[tp]:
                        remaining.discard(tp)
    finally:
        await consumer.stop()
    letters.sort(key=lambda x: (x.timestamp_ms, x.partition, x.offset), reverse=True)
    return letters[:limit]
