"""What each actual event does to a view's sections, dwells and segment runs (the rules of
``fold``; the module docstring there states them)."""

from __future__ import annotations

from corridor import movements
from corridor.movements import Stay, crossing_mode, dwell_step
from corridor.topology import Topology
from services.tracker.domain.events import Event, EventType
from services.tracker.domain.view import Dwell, Section, SegmentTime, ShipmentView

CASPIAN = "XC"
OTHER_SEA = "XB"  # the Black Sea: the only other sea leg of the corridor's reference data
CASPIAN_STATES = frozenset({"KZ", "AZ", "TM", "RU", "IR"})
# The events that may open, close or abandon a stay (``corridor.movements``).
DWELL_EVENTS = movements.DWELL_ENDS | {movements.ARRIVING}


def sea_section(port_country: str) -> str:
    return CASPIAN if port_country in CASPIAN_STATES else OTHER_SEA


def _country(code: str, topology: Topology) -> str:
    node = topology.nodes.get(code)
    return node.country if node is not None else code[:2]


def departure_mode(event: Event, topology: Topology, destination: str) -> str:
    """The mode of a departure: as reported, else the reference data's segment from its node
    towards the destination (so the sea crossings never depend on the optional ``mode``)."""
    return event.mode or crossing_mode(topology, event.location, destination)


def track_sections(view: ShipmentView, event: Event, topology: Topology) -> None:
    current = view.sections[-1] if view.sections and view.sections[-1].exited_at is None else None
    if (
        event.event_type is EventType.DEPARTED
        and departure_mode(event, topology, view.destination) == "VESSEL"
    ):
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


def track_dwell(view: ShipmentView, event: Event, topology: Topology) -> None:
    """The dwell rule of ``corridor.movements`` (the tariff's storage uses it too)."""
    open_dwell = view.dwells[-1] if view.dwells and view.dwells[-1].departed_at is None else None
    if (open_dwell is None or open_dwell.node == event.location) and (
        event.event_type not in DWELL_EVENTS
    ):
        return  # neither opens, closes nor abandons a stay (the common case: spelled out)
    stay = None if open_dwell is None else Stay(open_dwell.node, open_dwell.arrived_at)
    closed, still = dwell_step(stay, event.event_type, event.location, event.occurred_at, topology)
    if still is stay:
        return  # nothing changed
    if open_dwell is not None:
        view.dwells.pop()  # closed now, or dropped (the departure was never reported)
    if closed is not None:
        view.dwells.append(Dwell(closed.node, closed.arrived_at, closed.departed_at))
    if still is not None:
        view.dwells.append(Dwell(still.node, still.arrived_at))


def track_segments(view: ShipmentView, event: Event, topology: Topology) -> None:
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
