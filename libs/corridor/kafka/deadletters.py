"""Dead letters: a record that can never be processed, kept byte for byte with why and
where from, so that the consumer can move on."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import ConsumerRecord

from corridor.kafka.cloudevents import OutgoingRecord
from corridor.kafka.topics import EVENTS_DLQ_TOPIC

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
