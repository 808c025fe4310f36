"""The Kafka entrypoint: ``cargo.events.v1`` records in (``publication.py`` is the way
out, ``ShipmentState`` records).

With ``publication.py``, the one place where the tracker touches the generated protobuf
code. A record is decoded and checked here, at the edge; what cannot be decoded, lacks a
required field, names an unknown enum value or an unknown node, or cannot be applied for a
permanent reason becomes a ``DeadLetter`` with a precise reason, and so does a conflicting
duplicate (an ``event_id`` the carrier used before for different content). Anything else
(database down, a bug) raises, and ``ConsumerLoop`` retries the batch.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Protocol

from aiokafka import ConsumerRecord
from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp

from corridor.kafka import (
    DeadLetter,
)
from corridor.logging import correlation_id
from corridor.parties import Leg
from corridor.principals import PRINCIPAL_ID
from corridor.topology import Topology
from corridor.v1 import common_pb2, events_pb2
from services.tracker.domain import (
    Booking,
    Classifier,
    Event,
    EventType,
)
from services.tracker.handlers import BatchResult, is_permanent

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
MAX_LENGTHS = {
    "event_id": 128,
    "carrier": 64,
    "shipment_id": 64,
    "container_no": 32,
    "wagon_no": 32,
    "reason": 500,
}


REQUIRED = frozenset({"event_id", "carrier", "shipment_id"})
# As ingest: text is printable (control characters would reach logs, headers, storage).
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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


def _node(code: str, name: str, topology: Topology) -> str:
    if not code:
        raise Rejected(f"missing {name}")
    if code not in topology.nodes:
        raise Rejected(f"unknown node {code!r} in {name}")
    return code


def _principal(value: str, name: str) -> str:
    if value and not PRINCIPAL_ID.match(value):
        raise Rejected(f"{name} is not a principal id")
    return value


def _legs(booking: events_pb2.Booking, topology: Topology) -> tuple[Leg, ...]:
    legs = []
    for index, leg in enumerate(booking.legs):
        name = f"booking.legs[{index}]"
        if not leg.carrier:
            raise Rejected(f"missing {name}.carrier")
        legs.append(
            Leg(
                _principal(leg.carrier, f"{name}.carrier"),
                _node(leg.origin, f"{name}.origin", topology) if leg.origin else "",
                _node(leg.destination, f"{name}.destination", topology) if leg.destination else "",
            )
        )
    return tuple(legs)


def _booking(message: events_pb2.CargoEvent, topology: Topology) -> Booking | None:
    if not message.HasField("booking"):
        return None
    booking = message.booking
    container_type = ""
    if booking.container_type:
        if booking.container_type not in CONTAINER_TYPES:
            raise Rejected(f"unknown booking.container_type {booking.container_type}")
        container_type = CONTAINER_TYPES[booking.container_type]
    parties = booking.parties
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
        shipper=_principal(parties.shipper, "booking.parties.shipper"),
        consignee=_principal(parties.consignee, "booking.parties.consignee"),
        forwarder=_principal(parties.forwarder, "booking.parties.forwarder"),
        legs=_legs(booking, topology) if booking.legs else (),
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
    if CONTROL.search("".join(fields.values())):  # one search; name the field if found
        name = next(n for n, text in fields.items() if CONTROL.search(text))
        raise Rejected(f"control character in {name}")
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


class Applier(Protocol):
    """What the handler needs of the tracker (``handlers.Tracker``; a fake in unit tests)."""

    async def apply(self, batch: list[Event]) -> BatchResult: ...

    def count_dead_letters(self, count: int) -> None: ...

    async def publish_pending(self) -> None: ...


class EventsHandler:
    """The ``ConsumerLoop`` handler: decode, apply the batch in one transaction, publish the
    changed states, and return what must be dead-lettered."""

    def __init__(self, tracker: Applier, topology: Topology) -> None:
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
            result = await self.tracker.apply([event for _, event in decoded])
        except Exception as exc:
            if not is_permanent(exc):
                raise
            letters += await self._one_by_one(decoded)
        else:
            letters += _conflicting(decoded, result)
        self.tracker.count_dead_letters(len(letters))
        await self.tracker.publish_pending()
        return letters

    async def _one_by_one(self, decoded: list[tuple[ConsumerRecord, Event]]) -> list[DeadLetter]:
        """A batch failed for a permanent reason: find the events at fault."""
        letters = []
        for record, event in decoded:
            token = correlation_id.set(f"{event.carrier}/{event.event_id}")
            try:
                result = await self.tracker.apply([event])
            except Exception as exc:
                if not is_permanent(exc):
                    raise
                log.warning("event cannot be applied", exc_info=True)
                letters.append(DeadLetter(record, f"cannot be applied: {exc}"[:1000]))
            else:
                letters += _conflicting([(record, event)], result)
            finally:
                correlation_id.reset(token)
        return letters


def _conflicting(
    decoded: list[tuple[ConsumerRecord, Event]], result: BatchResult
) -> list[DeadLetter]:
    """Dead letters for the copies of known events whose content differs."""
    if not result.conflicting:
        return []
    reasons = {id(event): reason for event, reason in result.conflicting}
    letters = []
    for record, event in decoded:
        reason = reasons.get(id(event))
        if reason is not None:
            log.warning(
                "conflicting duplicate dead-lettered",
                extra={"carrier": event.carrier, "event_id": event.event_id},
            )
            letters.append(DeadLetter(record, reason))
    return letters
