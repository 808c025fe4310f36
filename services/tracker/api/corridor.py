"""``GET /v1/corridor``: the corridor-wide aggregates, public (no shipment is named)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter

from services.tracker.api.reads import ReadsDep
from services.tracker.api.schemas import CorridorOut, SectionKpiOut, ThroughBandOut, ThroughKpiOut
from services.tracker.db import queries
from services.tracker.db.through import delivered_journeys
from services.tracker.domain import CASPIAN, Status, percentile
from services.tracker.domain.through import bands_of, figures

KPI_WINDOW = timedelta(days=30)
# Sections in the order the corridor runs (then any other, alphabetically).
SECTION_ORDER = ("CN", "KZ", CASPIAN, "AZ", "GE", "TR", "XB", "RO")

router = APIRouter(prefix="/v1", tags=["corridor"])


def _section_order(country: str) -> tuple[int, str]:
    known = country in SECTION_ORDER
    return (SECTION_ORDER.index(country) if known else len(SECTION_ORDER), country)


@router.get("/corridor", response_model=CorridorOut)
async def get_corridor(reads: ReadsDep) -> CorridorOut:
    """Shipments by status and by node, how many are delayed and silent; per section, over
    the last 30 days, the median and 90th percentile transit time, how many met the
    section's target and the cargo volume that left it; per origin country and destination,
    the through transit of the journeys delivered in the window against the published
    bands. Public: no key needed."""
    now = reads.clock()
    bands = bands_of(reads.topology)
    async with reads.engine.connect() as conn:
        by_status = await queries.counts_by_status(conn)
        by_node = await queries.in_flight_by_node(conn)
        late = await queries.late_in_flight(conn)
        samples = await queries.section_samples(conn, now - KPI_WINDOW)
        journeys = await delivered_journeys(conn, now - KPI_WINDOW)
    grouped: dict[str, list[queries.SectionSample]] = {}
    for sample in samples:
        grouped.setdefault(sample.country, []).append(sample)
    sections = []
    for country in sorted(grouped, key=_section_order):
        rows = grouped[country]
        transits = [float(r.transit_seconds) for r in rows]
        target = reads.target(country)
        sections.append(
            SectionKpiOut(
                country=country,
                shipments=len(rows),
                median_transit_seconds=percentile(transits, 0.5),
                p90_transit_seconds=percentile(transits, 0.9),
                target_seconds=target,
                met_target=None if target is None else sum(1 for t in transits if t <= target),
                tonnes=round(sum(r.kilograms for r in rows) / 1000, 3),
                teu=sum(r.teu for r in rows),
            )
        )
    return CorridorOut(
        as_of=now,
        window_days=KPI_WINDOW.days,
        shipments_by_status={s.value: by_status.get(s.value, 0) for s in Status},
        shipments_by_node=dict(sorted(by_node.items())),
        shipments_delayed=late.delayed,
        shipments_silent=late.silent,
        sections=sections,
        through_targets=[
            ThroughBandOut(name=b.name, low_days=b.low_days, high_days=b.high_days) for b in bands
        ],
        through=[
            ThroughKpiOut(
                origin_country=f.origin_country,
                destination=f.destination,
                shipments=f.shipments,
                median_transit_seconds=f.median_seconds,
                p90_transit_seconds=f.p90_seconds,
                met=dict(f.met),
            )
            for f in figures(journeys, bands)
        ],
    )
