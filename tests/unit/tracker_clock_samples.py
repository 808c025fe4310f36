"""The Boyuk-Kesik shipment and a topology with known reference dwells: the samples of
the clock's tests (``test_tracker_clock.py``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from corridor.parties import Leg, TrustRules
from corridor.principals import DEMO_PRINCIPALS_FILE, load_registry
from corridor.topology import Topology, load_topology
from services.tracker.domain import Booking, Classifier, Event, EventType, ShipmentView, fold
from services.tracker.domain.clock import ClockRules

TOPOLOGY = load_topology()
RULES = TrustRules(TOPOLOGY, load_registry(DEMO_PRINCIPALS_FILE, TOPOLOGY, "local"))

MARCH = datetime(2026, 3, 10, tzinfo=UTC)
PROMISED = datetime(2026, 3, 20, tzinfo=UTC)
DECEMBER = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
RULES_OF_CLOCK = ClockRules()
BOOKING = Booking(
    origin="AZBAK",
    destination="GEPTI",
    container_type="40HC",
    gross_weight_kg=20_000,
    promised_delivery_at=PROMISED,
    legs=(Leg("ady", "AZBAK", "AZBYK"), Leg("gr", "AZBYK", "GEPTI")),
)


def with_dwells(dwells: dict[str, float]) -> Topology:
    """The reference data with these reference dwells (none elsewhere): the rules must use
    them until medians are known."""
    return Topology(
        TOPOLOGY.version,
        [
            replace(n, dwell_hours=dwells.get(n.code, 0.0), dwell_assumed=False)
            for n in TOPOLOGY.nodes.values()
        ],
        TOPOLOGY.operators.values(),
        TOPOLOGY.segments,
        TOPOLOGY.section_targets,
    )


DWELLS = {"AZBYK": 12.0, "GEGAR": 3.0, "GETBS": 0.0}
WITH_DWELLS = with_dwells(DWELLS)
NO_DWELLS = with_dwells({})
JUST = timedelta(microseconds=1)
_ids = iter(range(1_000_000))


def ev(
    event_type: str,
    at: datetime,
    location: str,
    *,
    carrier: str = "ady",
    mode: str = "",
    recorded_at: datetime | None = None,
) -> Event:
    kind = EventType(event_type)
    return Event(
        carrier=carrier,
        event_id=f"c{next(_ids)}",
        shipment_id="BK1",
        event_type=kind,
        classifier=Classifier.ACT,
        occurred_at=at,
        location=location,
        recorded_at=recorded_at,
        mode=mode,
        booking=BOOKING if kind is EventType.BOOKED else None,
    )


def held_at_boyuk_kesik() -> ShipmentView:
    """Booked in Baku, by rail to Boyuk-Kesik, held by customs there since 10 March."""
    return fold(
        "BK1",
        [
            ev("BOOKED", MARCH - timedelta(days=2), "AZBAK", carrier="mcm"),
            ev("DEPARTED", MARCH - timedelta(days=1), "AZBAK", mode="RAIL"),
            ev("ARRIVED", MARCH, "AZBYK", mode="RAIL"),
            ev("CUSTOMS_HOLD", MARCH + timedelta(hours=1), "AZBYK"),
        ],
        RULES,
    )


def hours_from(origin: str, topology: Topology = WITH_DWELLS) -> float:
    """Reference hours from ``origin`` to Poti, with the dwell at every node in between."""
    route = topology.route(origin, "GEPTI")
    assert route is not None
    return sum(s.hours for s in route) + sum(
        topology.nodes[s.destination].dwell_hours for s in route[:-1]
    )
