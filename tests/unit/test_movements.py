"""The shared rules of ``corridor.movements``: event order and dwell (tracker and tariff)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from corridor.movements import (
    Stay,
    crossing_mode,
    dwell_measured,
    dwells,
    order_key,
    route_positions,
)
from corridor.topology import load_topology

TOPOLOGY = load_topology()
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_at_the_same_instant_the_node_nearer_the_origin_comes_first() -> None:
    positions = route_positions(TOPOLOGY, "CNHRS")
    leave = order_key(at(4), "CNHRS", "DEPARTED", positions, "z", "9")
    arrive = order_key(at(4), "KZAKL", "ARRIVED", positions, "a", "1")
    assert leave < arrive
    assert order_key(at(3), "KZAKL", "ARRIVED", positions, "a", "1") < leave


def test_at_one_node_and_instant_events_follow_what_happens_there() -> None:
    positions = route_positions(TOPOLOGY, "CNHRS")
    arrive = order_key(at(4), "KZAKL", "ARRIVED", positions, "z", "9")
    leave = order_key(at(4), "KZAKL", "DEPARTED", positions, "a", "1")
    assert arrive < leave


def test_positions_rise_along_every_fastest_route_from_the_origin() -> None:
    positions = route_positions(TOPOLOGY, "CNAKL")
    for destination in ("AZBAK", "GEPTI", "TRKSY", "ROCND"):
        route = TOPOLOGY.route("CNAKL", destination)
        assert route is not None
        along = [positions[s.origin] for s in route] + [positions[destination]]
        assert along == sorted(along), destination
    assert route_positions(TOPOLOGY, "XXNOP") == {}


def test_a_departure_without_mode_takes_the_mode_of_the_segment_towards_the_destination() -> None:
    assert crossing_mode(TOPOLOGY, "KZAAU", "GEPTI") == "VESSEL"
    assert crossing_mode(TOPOLOGY, "AZBAK", "GEPTI") == "RAIL"
    assert crossing_mode(TOPOLOGY, "GEPTI", "GEPTI") == ""
    assert crossing_mode(TOPOLOGY, "XXNOP", "GEPTI") == ""


def test_dwell_is_measured_at_borders_and_ports_only() -> None:
    assert dwell_measured(TOPOLOGY, "KZAAU")
    assert dwell_measured(TOPOLOGY, "KZDSK")
    assert not dwell_measured(TOPOLOGY, "KZALA")  # a hub
    assert not dwell_measured(TOPOLOGY, "XXNOP")


def test_a_stay_runs_from_arrival_to_the_first_leaving_event_at_the_node() -> None:
    moves = [
        ("ARRIVED", "KZAAU", at(0)),
        ("LOADED", "KZAAU", at(40)),
        ("DEPARTED", "KZAAU", at(48)),
        ("ARRIVED", "AZBAK", at(72)),
        ("DELIVERED", "AZBAK", at(80)),
    ]
    assert dwells(moves, TOPOLOGY) == [
        Stay("KZAAU", at(0), at(48)),
        Stay("AZBAK", at(72), at(80)),
    ]
    assert dwells(moves, TOPOLOGY)[0].seconds == 48 * 3600


def test_an_arrival_never_left_is_dropped_once_the_cargo_is_reported_elsewhere() -> None:
    moves = [
        ("ARRIVED", "KZAAU", at(0)),
        ("CUSTOMS_HOLD", "AZBAK", at(30)),  # elsewhere: the stay at Aktau is unknown
        ("DEPARTED", "KZAAU", at(48)),  # too late to close it
    ]
    assert dwells(moves, TOPOLOGY) == []


def test_a_second_visit_is_a_second_stay() -> None:
    moves = [
        ("ARRIVED", "KZAAU", at(0)),
        ("DEPARTED", "KZAAU", at(10)),
        ("ARRIVED", "AZBAK", at(30)),
        ("DEPARTED", "AZBAK", at(40)),
        ("ARRIVED", "KZAAU", at(60)),
        ("GATE_OUT", "KZAAU", at(70)),
    ]
    assert [s.node for s in dwells(moves, TOPOLOGY)] == ["KZAAU", "AZBAK", "KZAAU"]
