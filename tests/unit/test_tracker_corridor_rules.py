"""The fold where the corridor is untidy: events at the same instant, departures without a
mode, holds the carrier never released, late events that re-fold the journey."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest

from services.tracker.db import viewcodec
from services.tracker.domain import (
    EventType,
    ShipmentView,
    Status,
    advance,
    fold,
    newly_closed,
    unique_in_order,
)
from services.tracker.domain.fold import positions_of
from tests.unit.test_tracker_domain import T0, ev, to_aktau, view_of
from tests.unit.test_tracker_samples import RULES


def hours(moment: datetime | None) -> float | None:
    return None if moment is None else (moment - T0).total_seconds() / 3600


def sections(view: ShipmentView) -> list[tuple[str, float | None, float | None]]:
    return [(s.country, hours(s.entered_at), hours(s.exited_at)) for s in view.sections]


def test_leaving_a_node_sorts_before_arriving_at_the_next_at_the_same_instant() -> None:
    booked = ev("BOOKED", 0, "CNHRS", carrier="mcm")
    # By type alone an arrival sorts before a departure: the route puts Horgos first.
    arrived = ev("ARRIVED", 4, "KZAKL", mode="RAIL", event_id="a-1")
    departed = ev("DEPARTED", 4, "CNHRS", mode="RAIL", event_id="z-9")
    view = view_of(booked, ev("GATE_IN", 2, "CNHRS"), arrived, departed)
    positions = positions_of(view, RULES.topology)
    ordered = unique_in_order([arrived, departed], positions)
    assert [e.event_type for e in ordered] == [EventType.DEPARTED, EventType.ARRIVED]
    assert sections(view) == [("CN", 2.0, 4.0), ("KZ", 4.0, None)]
    assert view.current_location == "KZAKL"
    assert [(d.node, d.departed_at) for d in view.dwells] == [("KZAKL", None)]
    assert [(s.origin, s.destination, s.seconds) for s in view.segments] == [("CNHRS", "KZAKL", 0)]


def test_the_same_instant_order_holds_when_advancing_a_stored_view() -> None:
    events = [ev("BOOKED", 0, "CNHRS", carrier="mcm"), ev("GATE_IN", 2, "CNHRS")]
    stored = viewcodec.from_json(viewcodec.to_json(view_of(*events)))
    pair = [ev("ARRIVED", 4, "KZAKL", event_id="a-1"), ev("DEPARTED", 4, "CNHRS", event_id="z-9")]
    assert advance(stored, pair, RULES) == view_of(*events, *pair)


def test_a_view_stored_with_the_old_order_key_is_re_folded_not_advanced() -> None:
    events = to_aktau()
    stored = viewcodec.to_dict(view_of(*events[:5]))
    stored["last_order"] = [stored["last_order"][0], *stored["last_order"][2:]]  # the 4-tuple
    old = viewcodec.from_dict(stored)
    with pytest.raises(ValueError, match="re-fold"):
        advance(old, events[5:], RULES)


def test_the_caspian_crossing_is_known_without_mode() -> None:
    with_modes = view_of(*to_aktau())
    without = view_of(*(e._replace(mode="") for e in to_aktau()))
    assert [s.country for s in without.sections] == ["CN", "KZ", "XC", "AZ"]
    assert without.sections == with_modes.sections
    assert without.dwells == with_modes.dwells
    assert without.segments == with_modes.segments


def test_a_reported_mode_wins_over_the_reference_data() -> None:
    events = to_aktau()
    # A departure from Aktau reported as RAIL (back inland): no sea crossing starts there.
    rail = [e._replace(mode="RAIL") if e.event_type is EventType.DEPARTED else e for e in events]
    assert "XC" not in [s.country for s in view_of(*rail[:11]).sections]


def test_an_arrival_at_another_node_ends_a_hold() -> None:
    events = to_aktau()[:5]  # arrived at Altynkol, crossed the border
    held = [*events, ev("CUSTOMS_HOLD", 9, "KZAKL", reason="documents")]
    assert view_of(*held).status is Status.HELD
    moved_on = view_of(*held, ev("ARRIVED", 22, "KZALA", mode="RAIL"))
    assert moved_on.status is Status.IN_TRANSIT
    assert (moved_on.held_since, moved_on.hold_reason) == (None, "")


def test_a_departure_from_another_node_ends_a_hold() -> None:
    events = to_aktau()[:5]
    held = [*events, ev("CUSTOMS_HOLD", 9, "KZAKL")]
    moved_on = view_of(*held, ev("DEPARTED", 24, "KZALA", mode="RAIL"))
    assert moved_on.status is Status.IN_TRANSIT


def test_events_at_the_held_node_keep_the_hold() -> None:
    events = to_aktau()[:5]
    held = [*events, ev("CUSTOMS_HOLD", 9, "KZAKL"), ev("LOADED", 10, "KZAKL")]
    assert view_of(*held).status is Status.HELD


def observed(steps: list[ShipmentView]) -> tuple[Counter[str], Counter[str]]:
    """What the KPIs observe as the view goes through ``steps`` (as ``Tracker`` does)."""
    by_country: Counter[str] = Counter()
    by_node: Counter[str] = Counter()
    old: ShipmentView | None = None
    for view in steps:
        closed_sections, closed_dwells = newly_closed(old, view)
        by_country.update(s.country for s in closed_sections)
        by_node.update(d.node for d in closed_dwells)
        old = view
    return by_country, by_node


def test_kpis_are_observed_once_when_late_events_re_fold_the_journey() -> None:
    events = to_aktau()
    booking, china = events[0], events[1:3]  # gate-in and departure at Horgos: posted late
    rest = events[3:]
    steps = [
        fold("S1", [booking, *rest[:6]], RULES),  # Altynkol to Aktau: KZ open
        fold("S1", [booking, *rest], RULES),  # across the Caspian: KZ, XC closed
        fold("S1", [booking, *china, *rest], RULES),  # the late CN events: CN first
    ]
    assert [s.country for s in steps[1].sections] == ["KZ", "XC", "AZ"]
    assert [s.country for s in steps[2].sections] == ["CN", "KZ", "XC", "AZ"]
    by_country, by_node = observed(steps)
    final = steps[-1]
    assert by_country == Counter(s.country for s in final.sections if s.exited_at is not None)
    assert by_node == Counter(d.node for d in final.dwells if d.departed_at is not None)


def test_a_second_visit_to_a_country_is_a_section_of_its_own() -> None:
    events = to_aktau()
    steps = [view_of(*events[: n + 1]) for n in range(len(events))]
    back = ev("ARRIVED", 200, "KZAAU", mode="VESSEL", carrier="asco")
    steps.append(
        view_of(*events, ev("DEPARTED", 190, "AZBAK", mode="VESSEL", carrier="asco"), back)
    )
    by_country, _ = observed(steps)
    assert by_country["XC"] == 2
    assert by_country["AZ"] == 1


def test_timeline_positions_rank_nodes_by_their_distance_from_the_origin() -> None:
    view = view_of(ev("BOOKED", 0, "CNHRS", carrier="mcm"))
    positions = positions_of(view, RULES.topology)
    route = RULES.topology.route("CNHRS", "GEPTI")
    assert route is not None
    along = [positions[s.destination] for s in route]
    assert along == sorted(along)
    assert positions["CNHRS"] == 0
