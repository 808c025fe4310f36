"""CloudEvents 1.0 in Kafka's binary mode: the headers every record of the system carries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import ConsumerRecord

CE_TYPE_CARGO_EVENT = "corridor.v1.CargoEvent"
CE_TYPE_SHIPMENT_STATE = "corridor.v1.ShipmentState"
CE_TYPE_CHARGE = "corridor.v1.Charge"
CONTENT_TYPE = "application/protobuf"


def cloudevent_headers(
    ce_id: str, ce_type: str, source: str, ce_time: datetime
) -> list[tuple[str, bytes]]:
    """CloudEvents 1.0 binary-mode headers (Kafka protocol binding)."""
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", ce_id.encode()),
        ("ce_source", source.encode()),
        ("ce_type", ce_type.encode()),
        ("ce_time", ce_time.astimezone(UTC).isoformat().replace("+00:00", "Z").encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]


def header(record: ConsumerRecord, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode(errors="replace")
    return None


@dataclass(frozen=True)
class OutgoingRecord:
    topic: str
    key: str
    value: bytes
    headers: Sequence[tuple[str, bytes]]


def cloudevent_record(
    topic: str, key: str, value: bytes, ce_id: str, ce_type: str, source: str, ce_time: datetime
) -> OutgoingRecord:
    return OutgoingRecord(topic, key, value, cloudevent_headers(ce_id, ce_type, source, ce_time))
