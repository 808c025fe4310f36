"""The Kafka helper: topics, CloudEvents headers, publishing, consuming, dead letters.

Delivery is at-least-once everywhere: producers wait for ``acks=all``; consumers commit
offsets only after their work is durably done (and after any dead letter is acknowledged);
consumers are idempotent on ``(carrier, event_id)``. Broker transactions are never used:
the embedded broker cannot do them, and the design does not need them.

Every public name is importable from here; the modules say where each one lives.
"""

from corridor.kafka.backoff import Backoff
from corridor.kafka.client import ClientError, Consumer, make_consumer
from corridor.kafka.cloudevents import (
    CE_TYPE_CARGO_EVENT,
    CE_TYPE_CHARGE,
    CE_TYPE_SHIPMENT_STATE,
    CONTENT_TYPE,
    OutgoingRecord,
    cloudevent_headers,
    cloudevent_record,
    header,
)
from corridor.kafka.consumer import BatchHandler, ConsumerLoop
from corridor.kafka.deadletters import (
    DLQ_CONSUMER_GROUP,
    DLQ_REASON,
    DLQ_SOURCE_OFFSET,
    DLQ_SOURCE_PARTITION,
    DLQ_SOURCE_TOPIC,
    DeadLetter,
    KeptDeadLetter,
    dead_letter_record,
    recent_dead_letters,
)
from corridor.kafka.metrics import KafkaMetrics
from corridor.kafka.progress import Progress
from corridor.kafka.publisher import Publisher, PublishError, PublishTimeoutError
from corridor.kafka.topics import (
    CHARGES_TOPIC,
    EVENTS_DLQ_TOPIC,
    EVENTS_TOPIC,
    SHIPMENTS_TOPIC,
    TOPICS,
    TopicSpec,
    client_options,
    ensure_topics,
)

__all__ = [
    "CE_TYPE_CARGO_EVENT",
    "CE_TYPE_CHARGE",
    "CE_TYPE_SHIPMENT_STATE",
    "CHARGES_TOPIC",
    "CONTENT_TYPE",
    "DLQ_CONSUMER_GROUP",
    "DLQ_REASON",
    "DLQ_SOURCE_OFFSET",
    "DLQ_SOURCE_PARTITION",
    "DLQ_SOURCE_TOPIC",
    "EVENTS_DLQ_TOPIC",
    "EVENTS_TOPIC",
    "SHIPMENTS_TOPIC",
    "TOPICS",
    "Backoff",
    "BatchHandler",
    "ClientError",
    "Consumer",
    "ConsumerLoop",
    "DeadLetter",
    "KafkaMetrics",
    "KeptDeadLetter",
    "OutgoingRecord",
    "Progress",
    "PublishError",
    "PublishTimeoutError",
    "Publisher",
    "TopicSpec",
    "client_options",
    "cloudevent_headers",
    "cloudevent_record",
    "dead_letter_record",
    "ensure_topics",
    "header",
    "make_consumer",
    "recent_dead_letters",
]
