"""The tracker's vocabulary: carrier events in, the view of one shipment out.

Plain frozen dataclasses and string enums: no protobuf, SQLAlchemy or FastAPI here. A
``ShipmentView`` serialises to a JSON-ready dict and back without loss, because the database
keeps it between batches and the fold resumes from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple


class EventType(StrEnum):
    BOOKED = "BOOKED"
    GATE_IN = "GATE_IN"
    LOADED = "LOADED"
    DEPARTED = "DEPARTED"
    ARRIVED = "ARRIVED"
    DISCHARGED = "DISCHARGED"
    BORDER_CROSSED = "BORDER_CROSSED"
    CUSTOMS_HOLD = "CUSTOMS_HOLD"
    CUSTOMS_RELEASED = "CUSTOMS_RELEASED"
    GATE_OUT = "GATE_OUT"
    DELIVERED = "DELIVERED"
    EXCEPTION = "EXCEPTION"


class Classifier(StrEnum):
    ACT = "ACT"
    EST = "EST"
    PLN = "PLN"


class Status(StrEnum):
    BOOKED = "BOOKED"
    IN_TRANSIT = "IN_TRANSIT"
    HELD = "HELD"
    DELIVERED = "DELIVERED"


# Tiebreak of events that happened at the same instant: the order things happen at a node.
RANK: dict[EventType, int] = {
    t: i
    for i, t in enumerate(
        (
            EventType.BOOKED,
            EventType.GATE_IN,
            EventType.ARRIVED,
            EventType.DISCHARGED,
            EventType.BORDER_CROSSED,
            EventType.CUSTOMS_HOLD,
            EventType.CUSTOMS_RELEASED,
            EventType.EXCEPTION,
            EventType.LOADED,
            EventType.DEPARTED,
            EventType.GATE_OUT,
            EventType.DELIVERED,
        )
    )
}

# Twenty-foot equivalent units per container type; a wagon load is not containerised.
TEU: dict[str, float] = {"20GP": 1.0, "40GP": 2.0, "40HC": 2.0, "45HC": 2.25, "WAGON": 0.0}

# (occurred_at, rank, carrier, event_id): a total order, since (carrier, event_id) is unique.
OrderKey = tuple[datetime, int, str, str]


@dataclass(frozen=True, slots=True)
class Booking:
    origin: str
    destination: str
    container_type: str = ""
    gross_weight_kg: float = 0.0
    cargo_description: str = ""
    hs_code: str = ""
    promised_delivery_at: datetime | None = None
    _json: str | None = field(default=None, init=False, repr=False, compare=False)

    def fragment(self) -> str:
        if self._json is None:
            object.__setattr__(self, "_json", _dumps(booking_to_dict(self)))
        assert self._json is not None
        return self._json


class Event(NamedTuple):
    """One carrier event, as validated at the edge; ``mode`` is ``RAIL``, ``VESSEL``,
    ``TRUCK`` or empty; times are timezone-aware UTC. (Immutable like the dataclasses here,
    but a tuple: several times cheaper to build, and one is built per event.)"""

    carrier: str
    event_id: str
    shipment_id: str
    event_type: EventType
    classifier: Classifier
    occurred_at: datetime
    location: str
    recorded_at: datetime | None = None
    mode: str = ""
    container_no: str = ""
    wagon_no: str = ""
    reason: str = ""
    booking: Booking | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.carrier, self.event_id)

    @property
    def order(self) -> OrderKey:
        return (self.occurred_at, RANK[self.event_type], self.carrier, self.event_id)


class LastEvent(NamedTuple):
    event_id: str
    carrier: str
    event_type: EventType
    classifier: Classifier
    location: str
    occurred_at: datetime

    @staticmethod
    def of(event: Event) -> LastEvent:
        return LastEvent(
            event.event_id,
            event.carrier,
            event.event_type,
            event.classifier,
            event.location,
            event.occurred_at,
        )


@dataclass(frozen=True, slots=True)
class Section:
    """A country section of the journey, or a sea crossing (``XC`` the Caspian)."""

    country: str
    entered_at: datetime
    exited_at: datetime | None = None

    # This item as JSON, computed once: a view is written with every change, its closed
    # items many times over.
    _json: str | None = field(default=None, init=False, repr=False, compare=False)

    def fragment(self) -> str:
        if self._json is None:
            text = f"[{_str(self.country)},{_num(self.entered_at)},{_num(self.exited_at)}]"
            object.__setattr__(self, "_json", text)
        assert self._json is not None
        return self._json

    @property
    def transit_seconds(self) -> int:
        if self.exited_at is None:
            return 0
        return int((self.exited_at - self.entered_at).total_seconds())


@dataclass(frozen=True, slots=True)
class Dwell:
    """Time at a border crossing or port, from arrival to departure."""

    node: str
    arrived_at: datetime
    departed_at: datetime | None = None

    # This item as JSON, computed once: a view is written with every change, its closed
    # items many times over.
    _json: str | None = field(default=None, init=False, repr=False, compare=False)

    def fragment(self) -> str:
        if self._json is None:
            text = f"[{_str(self.node)},{_num(self.arrived_at)},{_num(self.departed_at)}]"
            object.__setattr__(self, "_json", text)
        assert self._json is not None
        return self._json

    @property
    def dwell_seconds(self) -> int:
        if self.departed_at is None:
            return 0
        return int((self.departed_at - self.arrived_at).total_seconds())


@dataclass(frozen=True, slots=True)
class SegmentTime:
    """One actual run over a segment of the corridor: departure at A, arrival at B."""

    origin: str
    destination: str
    departed_at: datetime
    arrived_at: datetime

    # This item as JSON, computed once: a view is written with every change, its closed
    # items many times over.
    _json: str | None = field(default=None, init=False, repr=False, compare=False)

    def fragment(self) -> str:
        if self._json is None:
            text = (
                f"[{_str(self.origin)},{_str(self.destination)},"
                f"{_num(self.departed_at)},{_num(self.arrived_at)}]"
            )
            object.__setattr__(self, "_json", text)
        assert self._json is not None
        return self._json

    @property
    def seconds(self) -> int:
        return int((self.arrived_at - self.departed_at).total_seconds())


@dataclass(frozen=True, slots=True)
class Milestone:
    """A carrier's estimate (``EST``) or plan (``PLN``) of an event; the most recently
    recorded one per (classifier, event type, location) is kept."""

    classifier: Classifier
    event_type: EventType
    location: str
    expected_at: datetime
    recorded_at: datetime | None
    carrier: str
    event_id: str

    # This item as JSON, computed once: a view is written with every change, its closed
    # items many times over.
    _json: str | None = field(default=None, init=False, repr=False, compare=False)

    def fragment(self) -> str:
        if self._json is None:
            object.__setattr__(
                self,
                "_json",
                _dumps(
                    [
                        self.classifier.value,
                        self.event_type.value,
                        self.location,
                        _iso(self.expected_at),
                        _iso(self.recorded_at),
                        self.carrier,
                        self.event_id,
                    ]
                ),
            )
        assert self._json is not None
        return self._json

    @property
    def slot(self) -> tuple[Classifier, EventType, str]:
        return (self.classifier, self.event_type, self.location)

    @property
    def recency(self) -> tuple[datetime, str, str]:
        return (self.recorded_at or EPOCH, self.carrier, self.event_id)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class ShipmentView:
    """What the unique events of one shipment say, folded in time order."""

    shipment_id: str
    status: Status = Status.BOOKED
    booking: Booking | None = None
    container_no: str = ""
    wagon_no: str = ""
    first_location: str = ""
    current_location: str = ""
    last_event: LastEvent | None = None
    sections: list[Section] = field(default_factory=list)
    dwells: list[Dwell] = field(default_factory=list)
    segments: list[SegmentTime] = field(default_factory=list)
    milestones: list[Milestone] = field(default_factory=list)
    held_since: datetime | None = None
    hold_reason: str = ""
    delivered_at: datetime | None = None
    # Where the cargo is for the ETA: on its way from ``departed_from``, or at
    # ``current_location`` since ``here_since``.
    departed_from: str = ""
    departed_at: datetime | None = None
    here_since: datetime | None = None
    events: int = 0
    # The order key of the last actual event folded: later ones can be appended.
    last_order: OrderKey | None = None

    @property
    def origin(self) -> str:
        return self.booking.origin if self.booking else self.first_location

    @property
    def destination(self) -> str:
        return self.booking.destination if self.booking else ""

    @property
    def promised_delivery_at(self) -> datetime | None:
        return self.booking.promised_delivery_at if self.booking else None

    @property
    def container_type(self) -> str:
        return self.booking.container_type if self.booking else ""

    @property
    def gross_weight_kg(self) -> float:
        return self.booking.gross_weight_kg if self.booking else 0.0

    @property
    def teu(self) -> float:
        return TEU.get(self.container_type, 0.0)

    @property
    def carrier_eta(self) -> datetime | None:
        """The carrier's latest estimate of the arrival at the destination."""
        for m in self.milestones:
            if m.slot == (Classifier.EST, EventType.ARRIVED, self.destination):
                return m.expected_at
        return None

    def copy(self) -> ShipmentView:
        """A copy the fold may change (the nested values are immutable). Spelled out:
        ``dataclasses.replace`` costs several times more, and this runs for every change."""
        return ShipmentView(
            self.shipment_id,
            self.status,
            self.booking,
            self.container_no,
            self.wagon_no,
            self.first_location,
            self.current_location,
            self.last_event,
            list(self.sections),
            list(self.dwells),
            list(self.segments),
            list(self.milestones),
            self.held_since,
            self.hold_reason,
            self.delivered_at,
            self.departed_from,
            self.departed_at,
            self.here_since,
            self.events,
            self.last_order,
        )

    def to_json(self) -> str:
        """The view as compact JSON (``from_json`` reads it back without loss)."""
        order = self.last_order
        last = self.last_event
        head = ",".join(
            (
                '{"v":1',
                f'"shipment_id":{_str(self.shipment_id)}',
                f'"status":{_str(self.status.value)}',
                f'"booking":{"null" if self.booking is None else self.booking.fragment()}',
                f'"container_no":{_str(self.container_no)}',
                f'"wagon_no":{_str(self.wagon_no)}',
                f'"first_location":{_str(self.first_location)}',
                f'"current_location":{_str(self.current_location)}',
                '"last_event":null'
                if last is None
                else f'"last_event":[{_str(last.event_id)},{_str(last.carrier)},'
                f"{_str(last.event_type.value)},{_str(last.classifier.value)},"
                f"{_str(last.location)},{_num(last.occurred_at)}]",
                f'"held_since":{_num(self.held_since)}',
                f'"hold_reason":{_str(self.hold_reason)}',
                f'"delivered_at":{_num(self.delivered_at)}',
                f'"departed_from":{_str(self.departed_from)}',
                f'"departed_at":{_num(self.departed_at)}',
                f'"here_since":{_num(self.here_since)}',
                f'"events":{int(self.events)}',
                '"last_order":null'
                if order is None
                else f'"last_order":[{_num(order[0])},{int(order[1])},'
                f"{_str(order[2])},{_str(order[3])}]",
            )
        )
        lists = ",".join(
            f'"{name}":[{",".join(item.fragment() for item in items)}]'
            for name, items in (
                ("sections", self.sections),
                ("dwells", self.dwells),
                ("segments", self.segments),
                ("milestones", self.milestones),
            )
        )
        return f"{head},{lists}}}"

    @staticmethod
    def from_json(text: str) -> ShipmentView:
        return ShipmentView.from_dict(json.loads(text))

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.to_json())
        return result

    @staticmethod
    def from_dict(raw: dict[str, Any]) -> ShipmentView:
        order = raw["last_order"]
        return ShipmentView(
            shipment_id=raw["shipment_id"],
            status=Status(raw["status"]),
            booking=booking_from_dict(raw["booking"]),
            container_no=raw["container_no"],
            wagon_no=raw["wagon_no"],
            first_location=raw["first_location"],
            current_location=raw["current_location"],
            last_event=_last_event_of(raw["last_event"]),
            sections=[Section(c, _dt(a), _maybe_dt(b)) for c, a, b in raw["sections"]],
            dwells=[Dwell(n, _dt(a), _maybe_dt(b)) for n, a, b in raw["dwells"]],
            segments=[SegmentTime(o, d, _dt(a), _dt(b)) for o, d, a, b in raw["segments"]],
            milestones=[
                Milestone(Classifier(c), EventType(t), loc, _dt(x), _maybe_dt(r), car, eid)
                for c, t, loc, x, r, car, eid in raw["milestones"]
            ],
            held_since=_maybe_dt(raw["held_since"]),
            hold_reason=raw["hold_reason"],
            delivered_at=_maybe_dt(raw["delivered_at"]),
            departed_from=raw["departed_from"],
            departed_at=_maybe_dt(raw["departed_at"]),
            here_since=_maybe_dt(raw["here_since"]),
            events=int(raw["events"]),
            last_order=None
            if order is None
            else (_dt(order[0]), int(order[1]), str(order[2]), str(order[3])),
        )


_MICROSECOND = timedelta(microseconds=1)
_dumps = json.JSONEncoder(separators=(",", ":")).encode
_str = json.encoder.encode_basestring  # a JSON string literal (the C version)


def _num(moment: datetime | None) -> str:
    return "null" if moment is None else str((moment - EPOCH) // _MICROSECOND)


def _iso(moment: datetime | None) -> int | None:
    """Times are stored as integer microseconds since the epoch: exact, and several times
    cheaper to write and read than ISO 8601 text (the view is written with every change)."""
    return None if moment is None else (moment - EPOCH) // _MICROSECOND


def _dt(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def _maybe_dt(micros: int | None) -> datetime | None:
    return None if micros is None else EPOCH + timedelta(microseconds=micros)


def booking_to_dict(booking: Booking | None) -> dict[str, Any] | None:
    if booking is None:
        return None
    return {
        "origin": booking.origin,
        "destination": booking.destination,
        "container_type": booking.container_type,
        "gross_weight_kg": booking.gross_weight_kg,
        "cargo_description": booking.cargo_description,
        "hs_code": booking.hs_code,
        "promised_delivery_at": _iso(booking.promised_delivery_at),
    }


def booking_from_dict(raw: dict[str, Any] | None) -> Booking | None:
    if raw is None:
        return None
    return Booking(
        origin=raw["origin"],
        destination=raw["destination"],
        container_type=raw["container_type"],
        gross_weight_kg=float(raw["gross_weight_kg"]),
        cargo_description=raw["cargo_description"],
        hs_code=raw["hs_code"],
        promised_delivery_at=_maybe_dt(raw["promised_delivery_at"]),
    )


def _last_event_dict(last: LastEvent | None) -> list[Any] | None:
    if last is None:
        return None
    return [
        last.event_id,
        last.carrier,
        last.event_type.value,
        last.classifier.value,
        last.location,
        _iso(last.occurred_at),
    ]


def _last_event_of(raw: list[Any] | None) -> LastEvent | None:
    if raw is None:
        return None
    event_id, carrier, event_type, classifier, location, occurred_at = raw
    return LastEvent(
        event_id, carrier, EventType(event_type), Classifier(classifier), location, _dt(occurred_at)
    )


@dataclass(frozen=True, slots=True)
class TrackedShipment:
    """A view as stored and shown: with its ETA, delay, duplicate count and version."""

    view: ShipmentView
    eta: datetime | None
    delayed: bool
    version: int
    duplicates: int
    updated_at: datetime | None

    @property
    def shipment_id(self) -> str:
        return self.view.shipment_id
