"""A ``ShipmentView`` as compact JSON and back, without loss: the database keeps it between
batches and the fold resumes from it.

A view is written with every change, and most of it does not change: its lists (sections,
dwells, segments, milestones, events set aside) grow by an item now and then. A
``ViewEncoder`` remembers, per shipment, the text of each list it last wrote; a list with
the same items (compared by identity first, then by value) is not serialised again, and
one whose first items are the same objects is serialised only from the first that differs.
The domain's values carry no JSON of their own.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from services.tracker.db.encoding import (
    booking_from_dict,
    booking_to_dict,
    dumps,
    maybe_moment,
    micros,
    moment,
)
from services.tracker.db.encoding import json_string as s
from services.tracker.db.encoding import micros_text as t
from services.tracker.domain import (
    Booking,
    Classifier,
    Dwell,
    EventType,
    LastEvent,
    Milestone,
    Section,
    SegmentTime,
    SetAside,
    ShipmentView,
    Status,
)
from services.tracker.domain.events import LEGACY_POSITION, RouteOrder

FORMAT = 1


def _section(x: Section) -> str:
    return f"[{s(x.country)},{t(x.entered_at)},{t(x.exited_at)}]"


def _dwell(x: Dwell) -> str:
    return f"[{s(x.node)},{t(x.arrived_at)},{t(x.departed_at)}]"


def _segment(x: SegmentTime) -> str:
    return f"[{s(x.origin)},{s(x.destination)},{t(x.departed_at)},{t(x.arrived_at)}]"


def _milestone(x: Milestone) -> str:
    return dumps(
        [
            x.classifier.value,
            x.event_type.value,
            x.location,
            micros(x.expected_at),
            micros(x.recorded_at),
            x.carrier,
            x.event_id,
        ]
    )


def _set_aside(x: SetAside) -> str:
    return dumps(
        [
            x.carrier,
            x.event_id,
            x.event_type.value,
            x.classifier.value,
            x.location,
            micros(x.occurred_at),
            micros(x.recorded_at),
            x.outcome,
            x.reason,
            x.message,
        ]
    )


_LISTS: tuple[tuple[str, Callable[[Any], str]], ...] = (
    ("sections", _section),
    ("dwells", _dwell),
    ("segments", _segment),
    ("milestones", _milestone),
    ("set_aside", _set_aside),
)


class _Written:
    """One list as last written: its items, each item's text, and the whole text."""

    __slots__ = ("items", "text", "texts")

    def __init__(self, items: tuple[Any, ...], texts: list[str]) -> None:
        self.items = items
        self.texts = texts
        self.text = ",".join(texts)


def _list(items: Sequence[Any], known: _Written | None, encode: Callable[[Any], str]) -> _Written:
    now = tuple(items)
    if known is None:
        return _Written(now, [encode(item) for item in now])
    if known.items == now:  # identity first, in C: the common case
        return known
    before = known.items
    same = 0
    shortest = min(len(before), len(now))
    while same < shortest and before[same] is now[same]:
        same += 1
    return _Written(now, known.texts[:same] + [encode(item) for item in now[same:]])


class _Shipment:
    """What a ``ViewEncoder`` last wrote of one shipment."""

    __slots__ = ("booking", "booking_text", "lists")

    def __init__(self, booking: Booking | None, booking_text: str, lists: list[_Written]) -> None:
        self.booking = booking
        self.booking_text = booking_text
        self.lists = lists


class ViewEncoder:
    """``to_json`` that remembers what it wrote of the ``size`` shipments written most
    recently (least recently written first out)."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._written: OrderedDict[str, _Shipment] = OrderedDict()

    def encode(self, view: ShipmentView) -> str:
        known = self._written.pop(view.shipment_id, None)
        booking = view.booking
        if known is not None and known.booking is booking:
            booking_text = known.booking_text
        else:
            booking_text = _booking(booking)
        lists = _lists(view, None if known is None else known.lists)
        self._written[view.shipment_id] = _Shipment(booking, booking_text, lists)
        if len(self._written) > self.size:
            self._written.popitem(last=False)
        return _json(view, booking_text, lists)


def _booking(booking: Booking | None) -> str:
    return "null" if booking is None else dumps(booking_to_dict(booking))


def _lists(view: ShipmentView, known: list[_Written] | None) -> list[_Written]:
    items: tuple[Sequence[Any], ...] = (
        view.sections,
        view.dwells,
        view.segments,
        view.milestones,
        view.set_aside,
    )
    if known is None:
        return [_list(x, None, encode) for x, (_, encode) in zip(items, _LISTS, strict=True)]
    return [_list(x, k, encode) for x, k, (_, encode) in zip(items, known, _LISTS, strict=True)]


def to_json(view: ShipmentView) -> str:
    """The view as compact JSON (``from_json`` reads it back without loss)."""
    return _json(view, _booking(view.booking), _lists(view, None))


def _json(view: ShipmentView, booking: str, lists: list[_Written]) -> str:
    order = view.last_order
    last = view.last_event
    head = ",".join(
        (
            f'{{"v":{FORMAT}',
            f'"shipment_id":{s(view.shipment_id)}',
            f'"status":{s(view.status.value)}',
            f'"booking":{booking}',
            f'"container_no":{s(view.container_no)}',
            f'"wagon_no":{s(view.wagon_no)}',
            f'"first_location":{s(view.first_location)}',
            f'"current_location":{s(view.current_location)}',
            '"last_event":null'
            if last is None
            else f'"last_event":[{s(last.event_id)},{s(last.carrier)},'
            f"{s(last.event_type.value)},{s(last.classifier.value)},"
            f"{s(last.location)},{t(last.occurred_at)}]",
            f'"held_since":{t(view.held_since)}',
            f'"hold_reason":{s(view.hold_reason)}',
            f'"delivered_at":{t(view.delivered_at)}',
            f'"departed_from":{s(view.departed_from)}',
            f'"departed_at":{t(view.departed_at)}',
            f'"here_since":{t(view.here_since)}',
            f'"events":{int(view.events)}',
            '"last_order":null'
            if order is None
            else f'"last_order":[{t(order[0])},{int(order[1])},{int(order[2])},'
            f"{s(order[3])},{s(order[4])}]",
            f'"booker":{s(view.booker)}',
            f'"booked_at":{t(view.booked_at)}',
            f'"booking_recorded_at":{t(view.booking_recorded_at)}',
        )
    )
    sections, dwells, segments, milestones, aside = (w.text for w in lists)
    return (
        f'{head},"sections":[{sections}],"dwells":[{dwells}],"segments":[{segments}],'
        f'"milestones":[{milestones}],"set_aside":[{aside}]}}'
    )


def _route_order(raw: list[Any]) -> RouteOrder:
    if len(raw) == 4:  # stored before the route order: ``advance`` re-folds such a view
        return (moment(raw[0]), LEGACY_POSITION, int(raw[1]), str(raw[2]), str(raw[3]))
    return (moment(raw[0]), int(raw[1]), int(raw[2]), str(raw[3]), str(raw[4]))


def from_json(text: str) -> ShipmentView:
    return from_dict(json.loads(text))


def to_dict(view: ShipmentView) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(to_json(view))
    return result


def from_dict(raw: dict[str, Any]) -> ShipmentView:
    order = raw["last_order"]
    last = raw["last_event"]
    return ShipmentView(
        shipment_id=raw["shipment_id"],
        status=Status(raw["status"]),
        booking=booking_from_dict(raw["booking"]),
        container_no=raw["container_no"],
        wagon_no=raw["wagon_no"],
        first_location=raw["first_location"],
        current_location=raw["current_location"],
        last_event=None
        if last is None
        else LastEvent(
            last[0], last[1], EventType(last[2]), Classifier(last[3]), last[4], moment(last[5])
        ),
        sections=[Section(c, moment(a), maybe_moment(b)) for c, a, b in raw["sections"]],
        dwells=[Dwell(n, moment(a), maybe_moment(b)) for n, a, b in raw["dwells"]],
        segments=[SegmentTime(o, d, moment(a), moment(b)) for o, d, a, b in raw["segments"]],
        milestones=[
            Milestone(Classifier(c), EventType(k), loc, moment(x), maybe_moment(r), car, eid)
            for c, k, loc, x, r, car, eid in raw["milestones"]
        ],
        held_since=maybe_moment(raw["held_since"]),
        hold_reason=raw["hold_reason"],
        delivered_at=maybe_moment(raw["delivered_at"]),
        departed_from=raw["departed_from"],
        departed_at=maybe_moment(raw["departed_at"]),
        here_since=maybe_moment(raw["here_since"]),
        events=int(raw["events"]),
        last_order=None if order is None else _route_order(order),
        # Absent from views stored before the trust rules (``advance`` re-folds those).
        booker=raw.get("booker", ""),
        booked_at=maybe_moment(raw.get("booked_at")),
        booking_recorded_at=maybe_moment(raw.get("booking_recorded_at")),
        set_aside=tuple(
            SetAside(car, eid, EventType(k), Classifier(c), loc, moment(x), maybe_moment(r), *why)
            for car, eid, k, c, loc, x, r, *why in raw.get("set_aside", ())
        ),
    )
