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
- status: ``DELIVERED`` once any actual delivery is known; else ``HELD`` while a customs hold
  is open (closed by a later ``CUSTOMS_RELEASED`` or by a departure); else ``IN_TRANSIT`` once
  any actual event other than the booking is known; else ``BOOKED``. Estimates and plans
  never change the status; actual events after the delivery change nothing but the count;
- equipment: the container or wagon of the latest actual event that names one;
- sections: every actual event places the cargo in the country of its location, except a
  departure by vessel, which starts a sea crossing (``XC`` from a Caspian port); a section is
  exited at the first event placed elsewhere, or at the delivery;
- dwell, at border crossings and ports: from ``ARRIVED`` to ``DEPARTED`` (or ``GATE_OUT`` or
  ``DELIVERED``) at that node; an arrival whose departure is never reported is dropped once
  the cargo is reported elsewhere;
- segment times (the ETA's statistics): ``DEPARTED`` at A then ``ARRIVED`` at B, for
  adjacent A and B.
"""

from __future__ import annotations

from collections.abc import Iterable

from corridor.parties import TrustRules, Verdict
from corridor.topology import Topology
from services.tracker.domain import trust
from services.tracker.domain.aside import SetAside
from services.tracker.domain.events import Classifier, Event, EventType, LastEvent, OrderKey
from services.tracker.domain.view import (
    Dwell,
    Milestone,
    Section,
    SegmentTime,
    ShipmentView,
    Status,
)

ACT = Classifier.ACT
CASPIAN = "XC"
OTHER_SEA = "XB"  # the Black Sea: the only other sea leg of the corridor's reference data
CASPIAN_STATES = frozenset({"KZ", "AZ", "TM", "RU", "IR"})
DWELL_ENDS = frozenset({EventType.DEPARTED, EventType.GATE_OUT, EventType.DELIVERED})


class LateEvent(ValueError):
    """``advance`` was given an actual event that sorts before the last one folded, or a
    booking for a shipment that holds events: the caller re-folds."""


def unique_in_order(events: Iterable[Event]) -> list[Event]:
    """The first copy of each ``(carrier, event_id)``, sorted in time order."""
    if isinstance(events, list | tuple) and len(events) == 1:
        return list(events)  # the common case of a batch: one new event per shipment
    seen: dict[tuple[str, str], Event] = {}
    for event in events:
        seen.setdefault((event.carrier, event.event_id), event)
    return sorted(seen.values(), key=_order)


def _order(event: Event) -> OrderKey:
    return event.order


def fold(shipment_id: str, events: Iterable[Event], rules: TrustRules) -> ShipmentView:
    view = ShipmentView(shipment_id)
    ordered = unique_in_order(events)
    refused = trust.choose(view, ordered, rules)
    facts = trust.facts_of(view)
    topology = rules.topology
    aside: list[SetAside] = []
    for event in ordered:
        if trust.is_booking(event):
            denied = refused.get(event.key) if refused else None
            if denied is None:
                _step(view, event, topology)
            else:
                aside.append(denied)
            continue
        verdict = trust.verdict(rules, facts, view, event)
        if verdict.applies:
            _step(view, event, topology)
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
    facts = trust.facts_of(view)
    last = view.last_order
    judged = []
    for event in ordered:
        if event.classifier is ACT and event.event_type is EventType.BOOKED and event.booking:
            raise LateEvent("a booking may change which events count: re-fold")
        verdict = trust.verdict(rules, facts, view, event)
        late = last is not None and event.classifier is ACT and event.order <= last
        if late and verdict.applies:
            raise LateEvent("an actual event is not after the folded ones: re-fold")
        judged.append((event, verdict))
    return judged


def advance(view: ShipmentView, events: Iterable[Event], rules: TrustRules) -> ShipmentView:
    """``view`` with later ``events`` folded in; raises ``LateEvent`` when they cannot be
    appended (an earlier actual event, or a booking for a view that holds events)."""
    ordered = unique_in_order(events)
    if view.empty:
        return fold(view.shipment_id, ordered, rules)
    judged = _judged(view, ordered, rules)
    result = view.copy()
    topology = rules.topology
    aside: list[SetAside] = []
    for event, verdict in judged:
        if verdict.applies:
            _step(result, event, topology)
        else:
            aside.append(trust.set_aside(event, verdict))
    if aside:  # rare: kept in time order, as the fold keeps them
        result.set_aside = tuple(sorted((*result.set_aside, *aside), key=_aside_order))
    return result


def _aside_order(item: SetAside) -> OrderKey:
    return item.order


def _step(view: ShipmentView, event: Event, topology: Topology) -> None:
    view.events += 1
    if event.classifier is not Classifier.ACT:
        _record_milestone(view, event)
        return
    view.last_order = event.order
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
    if event.location != view.current_location or view.here_since is None:
        view.here_since = event.occurred_at
    view.current_location = event.location
    view.last_event = LastEvent.of(event)
    _track_sections(view, event, topology)
    _track_dwell(view, event, topology)
    _track_segments(view, event, topology)
    if event.event_type is EventType.CUSTOMS_HOLD:
        view.held_since, view.hold_reason = event.occurred_at, event.reason
    elif event.event_type in (EventType.CUSTOMS_RELEASED, EventType.DEPARTED):
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


def sea_section(port_country: str) -> str:
    return CASPIAN if port_country in CASPIAN_STATES else OTHER_SEA


def _country(code: str, topology: Topology) -> str:
    node = topology.nodes.get(code)
    return node.country if node is not None else code[:2]


def _track_sections(view: ShipmentView, event: Event, topology: Topology) -> None:
    current = view.sections[-1] if view.sections and view.sections[-1].exited_at is None else None
    if event.event_type is EventType.DEPARTED and event.mode == "VESSEL":
        where = sea_section(_country(event.location, topology))
    elif (
        current is not None
        and current.country in (CASPIAN, OTHER_SEA)
        and event.location == view.departed_from
        and event.event_type is not EventType.ARRIVED
    ):
        where = current.country  # reported at sea against the port of departure
    else:
        where = _country(event.location, topology)
    if current is not None and current.country == where:
        return
    if current is not None:
        view.sections[-1] = Section(current.country, current.entered_at, event.occurred_at)
    view.sections.append(Section(where, event.occurred_at))


def _track_dwell(view: ShipmentView, event: Event, topology: Topology) -> None:
    open_dwell = view.dwells[-1] if view.dwells and view.dwells[-1].departed_at is None else None
    if open_dwell is not None and open_dwell.node != event.location:
        view.dwells.pop()  # the departure was never reported
        open_dwell = None
    if event.event_type is EventType.ARRIVED:
        node = topology.nodes.get(event.location)
        if open_dwell is None and node is not None and (node.is_border or node.is_port):
            view.dwells.append(Dwell(event.location, event.occurred_at))
    elif event.event_type in DWELL_ENDS and open_dwell is not None:
        view.dwells[-1] = Dwell(open_dwell.node, open_dwell.arrived_at, event.occurred_at)


def _track_segments(view: ShipmentView, event: Event, topology: Topology) -> None:
    if event.event_type is EventType.DEPARTED:
        view.departed_from, view.departed_at = event.location, event.occurred_at
        return
    if not view.departed_from or event.location == view.departed_from:
        return
    if (
        event.event_type is EventType.ARRIVED
        and view.departed_at is not None
        and topology.segment(view.departed_from, event.location) is not None
    ):
        view.segments.append(
            SegmentTime(view.departed_from, event.location, view.departed_at, event.occurred_at)
        )
    view.departed_from, view.departed_at = "", None


def dwell_kind(code: str, topology: Topology) -> str:
    """``border`` or ``port``: the label of the dwell KPI (a border port counts as border)."""
    node = topology.nodes.get(code)
    return "border" if node is not None and node.is_border else "port"


def newly_closed(old: ShipmentView | None, new: ShipmentView) -> tuple[list[Section], list[Dwell]]:
    """Sections and dwells closed in ``new`` that were not closed in ``old`` (for KPIs)."""
    old_sections = set() if old is None else _closed_sections(old)
    old_dwells = set() if old is None else _closed_dwells(old)
    sections = [
        s
        for i, s in enumerate(new.sections)
        if s.exited_at is not None and (i, s.country) not in old_sections
    ]
    dwells = [
        d
        for i, d in enumerate(new.dwells)
        if d.departed_at is not None and (i, d.node) not in old_dwells
    ]
    return sections, dwells


def _closed_sections(view: ShipmentView) -> set[tuple[int, str]]:
    return {(i, s.country) for i, s in enumerate(view.sections) if s.exited_at is not None}


def _closed_dwells(view: ShipmentView) -> set[tuple[int, str]]:
    return {(i, d.node) for i, d in enumerate(view.dwells) if d.departed_at is not None}
