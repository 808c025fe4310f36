"""Through transit per origin country and destination, against the published bands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.tracker.domain.through import DAY, Band, Journey, figures, journey_of
from tests.unit.test_tracker_domain import BOOKING, T0, ev, to_aktau, view_of

NOW = Band("now", 18, 23)
GOAL = Band("goal", 10, 15)
START = datetime(2026, 1, 1, tzinfo=UTC)


def trip(shipment_id: str, destination: str, days: float, origin: str = "CN") -> Journey:
    return Journey(shipment_id, origin, destination, START, START + timedelta(days=days))


def test_a_journey_runs_from_its_first_section_to_its_delivery() -> None:
    to_baku = ev("BOOKED", 0, "CNHRS", carrier="mcm", booking=BOOKING._replace(destination="AZBAK"))
    events = [to_baku, *to_aktau()[1:]]
    assert journey_of(view_of(*events)) is None  # not delivered yet
    delivered = view_of(*events, ev("DELIVERED", 180, "AZBAK", carrier="port-baku"))
    journey = journey_of(delivered)
    assert journey is not None
    assert (journey.origin_country, journey.destination) == ("CN", "AZBAK")
    assert journey.started_at == T0 + timedelta(hours=2)  # the gate-in at Horgos
    assert journey.delivered_at == T0 + timedelta(hours=180)


def test_figures_count_the_journeys_that_met_each_band() -> None:
    journeys = [
        trip("a", "GEPTI", 12),
        trip("b", "GEPTI", 16),
        trip("c", "GEPTI", 23),
        trip("d", "GEPTI", 23.5),
        trip("e", "ROCND", 21),
        trip("f", "AZBAK", 9, origin="KZ"),
    ]
    found = {(f.origin_country, f.destination): f for f in figures(journeys, [NOW, GOAL])}
    assert list(found) == [("CN", "GEPTI"), ("CN", "ROCND"), ("KZ", "AZBAK")]
    poti = found[("CN", "GEPTI")]
    assert poti.shipments == 4
    assert poti.median_seconds == 19.5 * DAY
    assert dict(poti.met) == {"now": 3, "goal": 1}
    assert dict(found[("CN", "ROCND")].met) == {"now": 1, "goal": 0}
