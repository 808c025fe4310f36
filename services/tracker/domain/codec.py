"""A ``ShipmentView`` as compact JSON and back, without loss: the database keeps it between
batches and the fold resumes from it. Closed items are serialised once (their fragments are
cached on them), so writing a view costs little more than writing its head."""

from __future__ import annotations

import json
from typing import Any

from services.tracker.domain.aside import SetAside
from services.tracker.domain.encoding import json_string as s
from services.tracker.domain.encoding import maybe_moment, moment
from services.tracker.domain.encoding import micros_text as t
from services.tracker.domain.events import (
    LEGACY_POSITION,
    Classifier,
    EventType,
    LastEvent,
    RouteOrder,
    booking_from_dict,
)
from services.tracker.domain.view import (
    Dwell,
    Milestone,
    Section,
    SegmentTime,
    ShipmentView,
    Status,
)

FORMAT = 1


def to_json(view: ShipmentView) -> str:
    """The view as compact JSON (``from_json`` reads it back without loss)."""
    order = view.last_order
    last = view.last_event
    head = ",".join(
        (
            f'{{"v":{FORMAT}',
            f'"shipment_id":{s(view.shipment_id)}',
            f'"status":{s(view.status.value)}',
            f'"booking":{"null" if view.booking is None else view.booking.fragment()}',
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
    lists = ",".join(
        f'"{name}":[{",".join(item.fragment() for item in items)}]'
        for name, items in (
            ("sections", view.sections),
            ("dwells", view.dwells),
            ("segments", view.segments),
            ("milestones", view.milestones),
            ("set_aside", view.set_aside),
        )
    )
    return f"{head},{lists}}}"


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
