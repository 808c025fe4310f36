"""ETA from the remaining route, medians of actual times, and delay."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.tracker.domain import (
    Statistics,
    estimate_arrival,
    is_delayed,
    medians,
    percentile,
)
from tests.unit.test_tracker_domain import T0, ev, to_aktau, view_of
from tests.unit.test_tracker_samples import TOPOLOGY


def reference_hours(origin: str, destination: str) -> float:
    """Segment hours plus the reference dwell of every node in between."""
    hours = TOPOLOGY.reference_hours(origin, destination)
    assert hours is not None
    return hours


def test_a_shipment_on_its_way_is_expected_after_the_reference_hours_without_statistics() -> None:
    view = view_of(*to_aktau()[:8])  # departed Almaty at hour 24
    eta = estimate_arrival(view, TOPOLOGY, Statistics())
    assert eta == T0 + timedelta(hours=24 + reference_hours("KZALA", "GEPTI"))


def test_the_median_of_recent_runs_replaces_the_reference_time_of_a_segment() -> None:
    view = view_of(*to_aktau()[:8])
    route = TOPOLOGY.route("KZALA", "GEPTI")
    assert route is not None
    first = route[0]
    stats = Statistics(segment_hours={(first.origin, first.destination): first.hours + 30})
    eta = estimate_arrival(view, TOPOLOGY, stats)
    assert eta == T0 + timedelta(hours=24 + reference_hours("KZALA", "GEPTI") + 30)


def test_known_median_dwell_replaces_the_reference_dwell_at_each_node_but_the_destination() -> None:
    view = view_of(*to_aktau()[:8])
    stats = Statistics(dwell_hours={"KZAAU": 50, "AZBAK": 10, "GEPTI": 99})
    route = TOPOLOGY.route("KZALA", "GEPTI")
    assert route is not None
    on_route = {s.destination for s in route[:-1]}
    added = sum(
        h - TOPOLOGY.nodes[node].dwell_hours
        for node, h in stats.dwell_hours.items()
        if node in on_route
    )
    eta = estimate_arrival(view, TOPOLOGY, stats)
    assert eta == T0 + timedelta(hours=24 + reference_hours("KZALA", "GEPTI") + added)


def test_a_shipment_at_a_node_leaves_after_the_median_dwell_or_its_last_event() -> None:
    view = view_of(*to_aktau()[:9])  # arrived at Aktau at hour 96
    remaining = reference_hours("KZAAU", "GEPTI")
    stats = Statistics(dwell_hours={"KZAAU": 48})
    assert estimate_arrival(view, TOPOLOGY, stats) == T0 + timedelta(hours=96 + 48 + remaining)
    waited = view_of(*to_aktau()[:10])  # loaded on the vessel at hour 140
    short = Statistics(dwell_hours={"KZAAU": 1})
    assert estimate_arrival(waited, TOPOLOGY, short) == T0 + timedelta(hours=140 + remaining)
    assert estimate_arrival(waited, TOPOLOGY, stats) == T0 + timedelta(hours=144 + remaining)
    reference = TOPOLOGY.nodes["KZAAU"].dwell_hours  # no median: the reference dwell
    expected = T0 + timedelta(hours=max(96 + reference, 140) + remaining)
    assert estimate_arrival(waited, TOPOLOGY, Statistics()) == expected


def test_there_is_no_eta_before_departure_or_after_delivery() -> None:
    booked = view_of(ev("BOOKED", 0, "CNHRS", carrier="mcm"))
    assert estimate_arrival(booked, TOPOLOGY, Statistics()) is None
    delivered = view_of(*to_aktau(), ev("DELIVERED", 300, "GEPTI"))
    assert estimate_arrival(delivered, TOPOLOGY, Statistics()) is None


def test_there_is_no_eta_without_a_destination() -> None:
    unbooked = view_of(*to_aktau()[1:5])
    assert estimate_arrival(unbooked, TOPOLOGY, Statistics()) is None


def test_the_eta_of_a_shipment_at_its_destination_is_its_arrival() -> None:
    view = view_of(*to_aktau()[:3], ev("ARRIVED", 250, "GEPTI", mode="RAIL"))
    assert estimate_arrival(view, TOPOLOGY, Statistics()) == T0 + timedelta(hours=250)


def test_a_shipment_is_delayed_when_expected_after_its_promise() -> None:
    view = view_of(*to_aktau()[:8])
    promised = view.promised_delivery_at
    assert promised is not None
    assert is_delayed(view, promised + timedelta(minutes=1))
    assert not is_delayed(view, promised)
    assert not is_delayed(view, None)


def test_a_delivered_shipment_is_delayed_when_delivered_after_its_promise() -> None:
    promised_hours = 14 * 24
    late = view_of(*to_aktau(), ev("DELIVERED", promised_hours + 1, "GEPTI"))
    on_time = view_of(*to_aktau(), ev("DELIVERED", promised_hours - 1, "GEPTI"))
    assert is_delayed(late, None)
    assert not is_delayed(on_time, None)


def test_nothing_promised_is_never_delayed() -> None:
    view = view_of(*to_aktau()[1:8])
    assert not is_delayed(view, T0 + timedelta(days=365))


def test_medians_need_enough_samples() -> None:
    samples = [("a", 1.0), ("a", 3.0), ("a", 2.0), ("b", 5.0)]
    assert medians(samples, min_samples=3) == {"a": 2.0}
    assert medians(samples, min_samples=1) == {"a": 2.0, "b": 5.0}


def test_percentiles_interpolate_between_ranks() -> None:
    assert percentile([10.0, 20.0, 30.0, 40.0], 0.5) == 25.0
    assert percentile([1.0] * 9 + [11.0], 0.9) == pytest.approx(2.0)
    assert percentile([7.0], 0.9) == 7.0
    with pytest.raises(ValueError, match="nothing"):
        percentile([], 0.5)
