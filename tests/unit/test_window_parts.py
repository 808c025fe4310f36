"""The single window's pure parts: the schematic's layout from the reference data, the board
of counts, the transit distribution, where signing in may send a person."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from corridor.topology import load_topology, parse_topology
from services.tracker.domain import ShipmentView, Status, TrackedShipment
from services.tracker.domain.events import Booking
from services.tracker.web.board import board_of, dwell_level
from services.tracker.web.figures import distribution
from services.tracker.web.schematic import layout_of, route_keys
from services.tracker.web.session import local_path

TOPOLOGY = load_topology()
NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


def tracked(view: ShipmentView, *, delayed: bool = False, silent: bool = False) -> TrackedShipment:
    return TrackedShipment(view, None, delayed, 1, 0, NOW, silent)


def test_every_node_and_segment_is_placed_from_the_data_china_left_of_the_black_sea() -> None:
    layout = layout_of(TOPOLOGY)
    assert set(layout.nodes) == set(TOPOLOGY.nodes)
    assert len(layout.segments) == len(TOPOLOGY.segments)
    places = {(n.x, round(n.y, 3)) for n in layout.nodes.values()}
    assert len(places) == len(layout.nodes)  # no two nodes on the same spot
    x = {code: n.x for code, n in layout.nodes.items()}
    assert x["CNURM"] < x["KZAKL"] < x["KZAAU"] < x["AZBAK"] < x["GETBS"] < x["GEPTI"] < x["ROCND"]
    assert x["GEAKH"] < x["GEKRT"] < x["TRKSY"]
    assert all(0 < n.x < layout.width and 0 < n.y < layout.height for n in layout.nodes.values())


def test_a_node_added_to_the_data_appears_in_the_schematic() -> None:
    raw = {
        "version": "test",
        "operators": [{"id": "OP", "name": "op", "country": "KZ"}],
        "nodes": [
            {"code": "KZAAA", "name": "A", "country": "KZ", "kinds": ["hub"], "operator": "OP"},
            {"code": "KZBBB", "name": "B", "country": "KZ", "kinds": ["hub"], "operator": "OP"},
            {"code": "KZCCC", "name": "C", "country": "KZ", "kinds": ["port"], "operator": "OP"},
        ],
        "segments": [
            {"from": "KZAAA", "to": "KZBBB", "mode": "RAIL", "operator": "OP", "km": 1, "hours": 1},
            {"from": "KZCCC", "to": "KZBBB", "mode": "RAIL", "operator": "OP", "km": 1, "hours": 1},
        ],
    }
    layout = layout_of(parse_topology(raw))
    assert [layout.nodes[c].x for c in ("KZAAA", "KZBBB", "KZCCC")] == sorted(
        layout.nodes[c].x for c in ("KZAAA", "KZBBB", "KZCCC")
    )
    assert layout.nodes["KZCCC"].shape == "port"


def test_the_board_counts_shipments_at_nodes_and_on_the_segment_ahead() -> None:
    at_dostyk = ShipmentView("A", status=Status.HELD, current_location="KZDSK")
    at_dostyk.here_since = NOW - timedelta(hours=10)  # reference 4.25 h: more than twice
    under_way = ShipmentView("B", status=Status.IN_TRANSIT, current_location="KZALA")
    under_way.booking = Booking("KZALA", "AZBAK")
    under_way.departed_from = "KZALA"
    unplaced = ShipmentView("C", status=Status.IN_TRANSIT, current_location="KZALA")
    unplaced.departed_from = "KZALA"  # no booking: no route to place it on
    delivered = ShipmentView("D", status=Status.DELIVERED, current_location="GEPTI")
    board = board_of(
        [
            tracked(at_dostyk, delayed=True),
            tracked(under_way, silent=True),
            tracked(unplaced),
            tracked(delivered),
        ],
        TOPOLOGY,
        NOW,
    )
    dostyk = board.nodes["KZDSK"]
    assert (dostyk.shipments, dostyk.held, dostyk.delayed, dostyk.silent) == (1, 1, 1, 0)
    assert dostyk.dwell_level == "far_over"
    ahead = board.segments[route_keys(TOPOLOGY, "KZALA", "AZBAK")[0]]
    assert (ahead.shipments, ahead.delayed, ahead.silent) == (1, 0, 1)
    assert board.nodes["KZALA"].shipments == 1  # the one it cannot place stays where it was
    assert board.nodes["GEPTI"].shipments == 0  # delivered ones are not on the board
    assert board.counted == 3
    assert sum(s.shipments for s in board.segments.values()) == 1


def test_dwell_is_levelled_against_the_reference() -> None:
    assert dwell_level(4.0, None) == "none"
    assert dwell_level(0.0, 3.0) == "none"  # hubs have no reference
    assert dwell_level(4.0, 4.0) == "within"
    assert dwell_level(4.0, 8.0) == "over"
    assert dwell_level(4.0, 8.1) == "far_over"


def test_the_distribution_reaches_past_the_slowest_and_the_target() -> None:
    day = 86_400.0
    d = distribution("KZ", [2 * day, 4 * day, 9 * day], 5 * day)
    assert sum(b.count for b in d.bins) == 3
    assert d.span_hours >= 9 * 24
    assert d.target_hours == 120
    assert d.bins[-1].count == 1
    empty = distribution("GE", [], 12 * 3600.0)
    assert empty.top == 0
    assert empty.span_hours > 12


def test_the_route_of_a_shipment_is_its_segments_in_order() -> None:
    keys = route_keys(TOPOLOGY, "KZALA", "AZBAK")
    assert keys
    assert keys[0] in layout_of(TOPOLOGY).segments
    assert route_keys(TOPOLOGY, "KZALA", "NOPE!") == []


def test_signing_in_sends_a_person_to_this_site_only() -> None:
    assert local_path("/window/shipments/X") == "/window/shipments/X"
    for outside in ("https://evil.example/", "//evil.example/", "/\\evil.example", "", None):
        assert local_path(outside) == "/"
