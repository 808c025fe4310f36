"""The state of a shipment is a left fold over its unique events in time order.

``fold`` starts from nothing; ``advance`` resumes from a stored view when every new actual
event comes after the last folded one (the common case: events arrive roughly in order). A
late actual event cannot be appended: the caller re-folds the shipment's stored events,
which is cheap (a shipment has tens of events) and makes time order right by construction.
Both paths run the same ``_step``, so they agree. Estimates and plans only feed the
milestones, whose rule (the most recently recorded per slot) does not depend on the order,
so they never force a re-fold (an estimate's ``occurred_at`` is in the future).

Only a party writes a shipment's story (``corridor.parties``; ``trust.py``): the fold first
picks the effective booking among the bookings (the booker's and operators', latest
``occurred_at``; anybody else's is refused), then steps through the events in order,
applying only those ``judge`` lets count. Every other event is *set aside* on the view
(held or refused, with its reason) and changes nothing else. ``advance`` cannot take a new
booking into a view that holds events (it may make held events count, or change who is a
party): that is a re-fold too.

Rules (docs/tracker.md explains them):
- order: time, then (at the same instant) the position of the event's node on the way
  from the booked origin, then the type (``corridor.movements``): leaving a node never
  sorts after arriving at the next one;
- status: ``DELIVERED`` once any actual delivery is known; else ``HELD`` while a customs hold
  is open (closed by a later ``CUSTOMS_RELEASED``, by a departure, or by an arrival or
  departure at another node: the cargo moved on); else ``IN_TRANSIT`` once
  any actual event other than the booking is known; else ``BOOKED``. Estimates and plans
  never change the status; actual events after the delivery change nothing but the count;
- equipment: the container or wagon of the latest actual event that names one;
- sections: every actual event places the cargo in the country of its location, except a
  departure by vessel (its ``mode``, or when absent the reference data's first segment
  from its node towards the destination), which starts a sea crossing (``XC`` from a
  Caspian port); a section is exited at the first event placed elsewhere, or at the
  delivery;
- dwell, at border crossings and ports (``corridor.movements``, the tariff's rule too): from
  ``ARRIVED`` to ``DEPARTED`` (or ``GATE_OUT`` or ``DELIVERED``) at that node; an arrival
  whose departure is never reported is dropped once the cargo is reported elsewhere;
- segment times (the ETA's statistics): ``DEPARTED`` at A then ``ARRIVED`` at B, for
  adjacent A and B.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from corridor.movements import NO_ROUTE, route_positions
from corridor.parties import TrustRules, Verdict
from corridor.topology import Topology
from services.tracker.domain import trust
from services.tracker.domain.aside import SetAside
from services.tracker.domain.events import (
    LEGACY_POSITION,
    Classifier,
    Event,
    EventType,
    LastEvent,
    OrderKey,
)
from services.tracker.domain.tracks import track_dwell, track_sections, track_segments
from services.tracker.domain.view import Milestone, Section, ShipmentView, Status

ACT = Classifier.ACT
MOVING_ON = frozenset({EventType.ARRIVED, EventType.DEPARTED})


class LateEvent(ValueError):
    """``advance`` was given an actual event that sorts before the last one folded, or a
    booking for a shipment that holds events: the caller re-folds."""


def unique_in_order(
    events: Iterable[Event], positions: Mapping[str, int] = NO_ROUTE
) -> list[Event]:
    """The first copy of each ``(carrier, event_id)``, in the fold's order: time, then the
    position of the node on the route (``positions``), then the type."""
    if isinstance(events, list | tuple) and len(events) == 1:
        return list(events)  # the common case of a batch: one new event per shipment
    seen: dict[tuple[str, str], Event] = {}
    for event in events:
        seen.setdefault((event.carrier, event.event_id), event)
    return sorted(seen.values(), key=lambda e: e.route_order(positions))


def positions_of(view: ShipmentView, topology: Topology) -> Mapping[str, int]:
    """The positions of the nodes on the way from the booked origin (none without a
    booking: events of a shipment without one are all set aside anyway)."""
    booking = view.booking
    if booking is None:
        return NO_ROUTE
    return route_positions(topology, booking.origin)


def fold(shipment_id: str, events: Iterable[Event], rules: TrustRules) -> ShipmentView:
    view = ShipmentView(shipment_id)
    ordered = unique_in_order(events)
    refused = trust.choose(view, ordered, rules)
    topology = rules.topology
    positions = positions_of(view, topology)
    if positions:  # the booking tells the route: order same-instant events along it
        ordered.sort(key=lambda e: e.route_order(positions))
    facts = trust.facts_of(view)
    aside: list[SetAside] = []
    for event in ordered:
        if trust.is_booking(event):
            denied = refused.get(event.key) if refused else None
            if denied is None:
                _step(view, event, topology, positions)
            else:
                aside.append(denied)
            continue
        verdict = trust.verdict(rules, facts, view, event)
        if verdict.applies:
            _step(view, event, topology, positions)
        else:
            aside.append(trust.set_aside(event, verdict))
    view.set_aside = tuple(aside)
    return view


def can_advance(view: ShipmentView, events: Iterable[Event], rules: TrustRules) -> bool:
    """True when ``advance`` would take these events (no ``LateEvent``)."""
    try:
        _judged(view, unique_in_order(events), rules)
    except LateEvent:
        return False
    return True


def _judged(
    view: ShipmentView, ordered: list[Event], rules: TrustRules
) -> list[tuple[Event, Verdict]]:
    """The events with their verdicts; raises ``LateEvent`` if they cannot be appended: a
    booking, or an actual event that counts and sorts before the last one folded (one set
    aside changes nothing, wherever it sorts)."""
    if view.booking is not None and not view.booker:
        raise LateEvent("a view stored before the trust rules: re-fold")
    last = view.last_order
    if last is not None and last[1] == LEGACY_POSITION:
        raise LateEvent("a view stored before the route order: re-fold")
    facts = trust.facts_of(view)
    positions = positions_of(view, rules.topology)
    judged = []
    for event in ordered:
        if event.classifier is ACT and event.event_type is EventType.BOOKED and event.booking:
            raise LateEvent("a booking may change which events count: re-fold")
        verdict = trust.verdict(rules, facts, view, event)
        late = last is not None and event.classifier is ACT and event.route_order(positions) <= last
        if late and verdict.applies:
            raise LateEvent("an actual event is not after the folded ones: re-fold")
        judged.append((event, verdict))
    return judged


def advance(view: ShipmentView, events: Iterable[Event], rules: TrustRules) -> ShipmentView:
    """``view`` with later ``events`` folded in; raises ``LateEvent`` when they cannot be
    appended (an earlier actual event, or a booking for a view that holds events)."""
    if view.empty:
        return fold(view.shipment_id, events, rules)
    topology = rules.topology
    positions = positions_of(view, topology)
    ordered = unique_in_order(events, positions)
    judged = _judged(view, ordered, rules)
    result = view.copy()
    aside: list[SetAside] = []
    for event, verdict in judged:
        if verdict.applies:
            _step(result, event, topology, positions)
        else:
            aside.append(trust.set_aside(event, verdict))
    if aside:  # rare: kept in time order, as the fold keeps them
        result.set_aside = tuple(sorted((*result.set_aside, *aside), key=_aside_order))
    return result


def _aside_order(item: SetAside) -> OrderKey:
    return item.order


def _step(
    view: ShipmentView, event: Event, topology: Topology, positions: Mapping[str, int]
) -> None:
    view.events += 1
    if event.classifier is not Classifier.ACT:
        _record_milestone(view, event)
        return
    view.last_order = event.route_order(positions)
    if event.container_no:
        view.container_no = event.container_no
    if event.wagon_no:
        view.wagon_no = event.wagon_no
    if event.event_type is EventType.BOOKED:
        # The effective booking was chosen before the events were stepped through.
        if view.status is Status.BOOKED:
            view.last_event = LastEvent.of(event)
            view.current_location = event.location
        return
    if view.delivered_at is not None:
        return
    if not view.first_location:
        view.first_location = event.location
    # An arrival or departure at another node than the one the cargo was last reported
    # at means it moved on: any hold there is over.
    moved_on = event.event_type in MOVING_ON and event.location != view.current_location
    if event.location != view.current_location or view.here_since is None:
        view.here_since = event.occurred_at
    view.current_location = event.location
    view.last_event = LastEvent.of(event)
    track_sections(view, event, topology)
    track_dwell(view, event, topology)
    track_segments(view, event, topology)
    if event.event_type is EventType.CUSTOMS_HOLD:
        view.held_since, view.hold_reason = event.occurred_at, event.reason
    elif event.event_type in (EventType.CUSTOMS_RELEASED, EventType.DEPARTED) or moved_on:
        view.held_since, view.hold_reason = None, ""
    if event.event_type is EventType.DELIVERED:
        view.delivered_at = event.occurred_at
        view.held_since, view.hold_reason = None, ""
        view.departed_from, view.departed_at = "", None
        last = view.sections[-1]
        view.sections[-1] = Section(last.country, last.entered_at, event.occurred_at)
        view.status = Status.DELIVERED
    else:
        view.status = Status.HELD if view.held_since is not None else Status.IN_TRANSIT


def _record_milestone(view: ShipmentView, event: Event) -> None:
    milestone = Milestone(
        event.classifier,
        event.event_type,
        event.location,
        event.occurred_at,
        event.recorded_at,
        event.carrier,
        event.event_id,
    )
    for index, known in enumerate(view.milestones):
        if known.slot == milestone.slot:
            if milestone.recency > known.recency:
                view.milestones[index] = milestone
            return
    view.milestones.append(milestone)
    view.milestones.sort(key=lambda m: m.slot)  # one order whatever the arrival order
