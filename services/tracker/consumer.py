"""The Kafka entrypoint: ``cargo.events.v1`` records in, ``ShipmentState`` records out.

The one place where the tracker touches the generated protobuf code. A record is decoded
and checked here, at the edge; what cannot be decoded, lacks a required field, names an
unknown enum value or an unknown node, or cannot be applied for a permanent reason becomes
a ``DeadLetter`` with a precise reason. Transient failures (database down) raise, and
``ConsumerLoop`` retries the batch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from aiokafka import ConsumerRecord
from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp

from corridor.kafka import (
    CE_TYPE_SHIPMENT_STATE,
    DeadLetter,
    OutgoingRecord,
    Publisher,
    cloudevent_record,
)
from corridor.logging import correlation_id
from corridor.topology import Topology
from corridor.v1 import common_pb2, events_pb2, shipments_pb2
from services.tracker.domain import (
    Booking,
    Classifier,
    Event,
    EventType,
    Status,
    TrackedShipment,
)
from services.tracker.handlers import Tracker, is_permanent

log = logging.getLogger(__name__)

SOURCE = "/corridor/tracker"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EVENT_TYPES = {
    number: EventType(name.removeprefix("EVENT_TYPE_"))
    for name, number in common_pb2.EventType.items()
    if number
}
EVENT_TYPE_NUMBERS = {v: k for k, v in EVENT_TYPES.items()}
CLASSIFIERS = {
    number: Classifier(name.removeprefix("CLASSIFIER_"))
    for name, number in common_pb2.Classifier.items()
    if number
}
CLASSIFIER_NUMBERS = {v: k for k, v in CLASSIFIERS.items()}
MODES = {number: name.removeprefix("MODE_") for name, number in common_pb2.Mode.items() if number}
CONTAINER_TYPES = {
    number: name.removeprefix("CONTAINER_TYPE_")
    for name, number in common_pb2.ContainerType.items()
    if number
}
CONTAINER_TYPE_NUMBERS = {v: k for k, v in CONTAINER_TYPES.items()}
STATUS_NUMBERS = {
    Status.BOOKED: shipments_pb2.SHIPMENT_STATUS_BOOKED,
    Status.IN_TRANSIT: shipments_pb2.SHIPMENT_STATUS_IN_TRANSIT,
    Status.HELD: shipments_pb2.SHIPMENT_STATUS_HELD,
    Status.DELIVERED: shipments_pb2.SHIPMENT_STATUS_DELIVERED,
}
# The widest values the database columns take (ingest enforces the same or stricter).
MAX_LENGTHS = {
    "event_id": 128,
    "carrier": 64,
    "shipment_id": 64,
    "container_no": 32,
    "wagon_no": 32,
    "reason": 500,
}


REQUIRED = frozenset({"event_id", "carrier", "shipment_id"})


class Rejected(ValueError):
    """The record can never be applied; the message is the dead-letter reason."""


def _moment(stamp: Timestamp, name: str) -> datetime:
    """Exact integer conversion (to the microsecond), bounded to sensible years."""
    try:
        moment = _EPOCH + timedelta(0, stamp.seconds, stamp.nanos // 1000)
    except OverflowError:
        raise Rejected(f"{name} out of range") from None
    if not 1971 <= moment.year <= 9000:
        raise Rejected(f"{name} out of range")
    return moment


def timestamp(moment: datetime) -> Timestamp:
    delta = moment - _EPOCH
    return Timestamp(seconds=delta.days * 86_400 + delta.seconds, nanos=delta.microseconds * 1000)


def _node(code: str, name: str, topology: Topology) -> str:
    if not code:
        raise Rejected(f"missing {name}")
    if code not in topology.nodes:
        raise Rejected(f"unknown node {code!r} in {name}")
    return code


def _booking(message: events_pb2.CargoEvent, topology: Topology) -> Booking | None:
    if not message.HasField("booking"):
        return None
    booking = message.booking
    container_type = ""
    if booking.container_type:
        if booking.container_type not in CONTAINER_TYPES:
            raise Rejected(f"unknown booking.container_type {booking.container_type}")
        container_type = CONTAINER_TYPES[booking.container_type]
    return Booking(
        origin=_node(booking.origin, "booking.origin", topology),
        destination=_node(booking.destination, "booking.destination", topology),
        container_type=container_type,
        gross_weight_kg=booking.gross_weight_kg,
        cargo_description=booking.cargo_description,
        hs_code=booking.hs_code,
        promised_delivery_at=_moment(booking.promised_delivery_at, "booking.promised_delivery_at")
        if booking.HasField("promised_delivery_at")
        else None,
    )


def decode(value: bytes | None, topology: Topology) -> Event:
    """A ``CargoEvent`` as a domain ``Event``; raises ``Rejected`` with the reason.

    Each field is read once (reading a protobuf field builds a Python object)."""
    if value is None:
        raise Rejected("record has no value")
    try:
        message = events_pb2.CargoEvent.FromString(value)
    except DecodeError as exc:
        raise Rejected(f"undecodable CargoEvent: {exc}") from None
    fields = {
        "event_id": message.event_id,
        "carrier": message.carrier,
        "shipment_id": message.shipment_id,
        "container_no": message.container_no,
        "wagon_no": message.wagon_no,
        "reason": message.reason,
    }
    for name, text in fields.items():
        if len(text) > MAX_LENGTHS[name]:
            raise Rejected(f"{name} longer than {MAX_LENGTHS[name]} characters")
        if not text and name in REQUIRED:
            raise Rejected(f"missing {name}")
    event_type = EVENT_TYPES.get(message.event_type)
    if event_type is None:
        kind = message.event_type
        raise Rejected(f"unknown event_type {kind}" if kind else "missing event_type")
    classifier = CLASSIFIERS.get(message.classifier)
    if classifier is None:
        number = message.classifier
        raise Rejected(f"unknown classifier {number}" if number else "missing classifier")
    mode = message.mode
    if mode and mode not in MODES:
        raise Rejected(f"unknown mode {mode}")
    if not message.HasField("occurred_at"):
        raise Rejected("missing occurred_at")
    booking = _booking(message, topology)
    if event_type is EventType.BOOKED and classifier is Classifier.ACT and booking is None:
        raise Rejected("missing booking on BOOKED")
    return Event(
        fields["carrier"],
        fields["event_id"],
        fields["shipment_id"],
        event_type,
        classifier,
        _moment(message.occurred_at, "occurred_at"),
        _node(message.location, "location", topology),
        _moment(message.recorded_at, "recorded_at") if message.HasField("recorded_at") else None,
        MODES.get(mode, ""),
        fields["container_no"],
        fields["wagon_no"],
        fields["reason"],
        booking,
    )


def shipment_state(shipment: TrackedShipment) -> shipments_pb2.ShipmentState:
    """The partner contract: one shipment's latest state, as stored."""
    view = shipment.view
    state = shipments_pb2.ShipmentState(
        shipment_id=view.shipment_id,
        status=STATUS_NUMBERS[view.status],
        container_no=view.container_no,
        wagon_no=view.wagon_no,
        origin=view.origin,
        destination=view.destination,
        current_location=view.current_location,
        delayed=shipment.delayed,
        counts=shipments_pb2.Counts(events=view.events, duplicates=shipment.duplicates),
        container_type=CONTAINER_TYPE_NUMBERS.get(view.container_type, 0),  # type: ignore[arg-type]
        gross_weight_kg=view.gross_weight_kg,
        version=shipment.version,
    )
    if view.last_event is not None:
        last = view.last_event
        state.last_event.CopyFrom(
            shipments_pb2.LastEvent(
                event_id=last.event_id,
                carrier=last.carrier,
                event_type=EVENT_TYPE_NUMBERS[last.event_type],
                classifier=CLASSIFIER_NUMBERS[last.classifier],
                location=last.location,
                occurred_at=timestamp(last.occurred_at),
            )
        )
    for section in view.sections:
        out = state.sections.add(
            country=section.country,
            entered_at=timestamp(section.entered_at),
            transit_seconds=section.transit_seconds,
        )
        if section.exited_at is not None:
            out.exited_at.CopyFrom(timestamp(section.exited_at))
    for dwell in view.dwells:
        d = state.dwells.add(
            node=dwell.node,
            arrived_at=timestamp(dwell.arrived_at),
            dwell_seconds=dwell.dwell_seconds,
        )
        if dwell.departed_at is not None:
            d.departed_at.CopyFrom(timestamp(dwell.departed_at))
    if shipment.eta is not None:
        state.eta.CopyFrom(timestamp(shipment.eta))
    if view.promised_delivery_at is not None:
        state.promised_delivery_at.CopyFrom(timestamp(view.promised_delivery_at))
    if shipment.updated_at is not None:
        state.updated_at.CopyFrom(timestamp(shipment.updated_at))
    return state


def state_record(topic: str, shipment: TrackedShipment) -> OutgoingRecord:
    return cloudevent_record(
        topic,
        shipment.shipment_id,
        shipment_state(shipment).SerializeToString(),
        ce_id=f"{shipment.shipment_id}/{shipment.version}",
        ce_type=CE_TYPE_SHIPMENT_STATE,
        source=SOURCE,
        ce_time=shipment.updated_at or datetime.now(UTC),
    )


class StatePublisher:
    """Sends states to ``cargo.shipments.v1``; says which ones the broker acknowledged."""

    def __init__(self, publisher: Publisher, topic: str) -> None:
        self.publisher = publisher
        self.topic = topic

    async def __call__(self, shipments: Sequence[TrackedShipment]) -> list[bool]:
        results = await self.publisher.publish_many(
            [state_record(self.topic, s) for s in shipments]
        )
        return [r is None for r in results]


class EventsHandler:
    """The ``ConsumerLoop`` handler: decode, apply the batch in one transaction, publish the
    changed states, and return what must be dead-lettered."""

    def __init__(self, tracker: Tracker, topology: Topology) -> None:
        self.tracker = tracker
        self.topology = topology

    async def __call__(self, records: list[ConsumerRecord]) -> list[DeadLetter]:
        letters: list[DeadLetter] = []
        decoded: list[tuple[ConsumerRecord, Event]] = []
        for record in records:
            try:
                decoded.append((record, decode(record.value, self.topology)))
            except Rejected as exc:
                letters.append(DeadLetter(record, str(exc)))
        try:
            await self.tracker.apply([event for _, event in decoded])
        except Exception as exc:
            if not is_permanent(exc):
                raise
            letters += await self._one_by_one(decoded)
        self.tracker.count_dead_letters(len(letters))
        await self.tracker.publish_pending()
        return letters

    async def _one_by_one(self, decoded: list[tuple[ConsumerRecord, Event]]) -> list[DeadLetter]:
        """A batch failed for a permanent reason: find the events at fault."""
        letters = []
        for record, event in decoded:
            token = correlation_id.set(f"{event.carrier}/{event.event_id}")
            try:
                await self.tracker.apply([event])
            except Exception as exc:
                if not is_permanent(exc):
                    raise
                log.warning("event cannot be applied", exc_info=True)
                letters.append(DeadLetter(record, f"cannot be applied: {exc}"[:1000]))
            finally:
                correlation_id.reset(token)
        return letters
