"""``/v1/corridor`` shows the through transit per origin country and destination against
the seed's published bands, how many journeys met each band and each section's target;
the metrics observe each delivered journey once (real database, the tracker's own API)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from services.tracker.domain import percentile
from services.tracker.domain.through import DAY, journey_of
from tests.conftest import unique
from tests.integration.tracker_harness import NOW, Corridor, open_corridor
from tests.unit.test_tracker_samples import journey

pytestmark = pytest.mark.integration


@pytest.fixture
async def corridor(database_url: str) -> AsyncIterator[Corridor]:
    async with open_corridor(database_url) as opened:
        yield opened


async def test_the_corridor_shows_through_transit_against_the_published_bands(
    corridor: Corridor,
) -> None:
    for seed in range(200, 216):
        await corridor.track(journey(seed, unique("THRU")))
        await corridor.track(journey(seed, unique("THRU")))  # a redelivery changes nothing
    body = (await corridor.get("/v1/corridor")).json()
    assert body["through_targets"] == [
        {"name": "now", "low_days": 18.0, "high_days": 23.0},
        {"name": "goal", "low_days": 10.0, "high_days": 15.0},
    ]
    window_start = NOW - timedelta(days=30)
    journeys = [
        j
        for v in corridor.views.values()
        if (j := journey_of(v)) is not None and j.delivered_at >= window_start
    ]
    assert journeys, "the sample journeys are delivered within the window"
    expected: dict[tuple[str, str], list[float]] = {}
    for j in journeys:
        expected.setdefault((j.origin_country, j.destination), []).append(j.seconds)
    shown = {(r["origin_country"], r["destination"]): r for r in body["through"]}
    assert set(shown) == set(expected)
    for key, seconds in expected.items():
        row = shown[key]
        assert row["shipments"] == len(seconds)
        assert row["median_transit_seconds"] == pytest.approx(percentile(seconds, 0.5))
        assert row["p90_transit_seconds"] == pytest.approx(percentile(seconds, 0.9))
        assert row["met"] == {
            "now": sum(1 for s in seconds if s <= 23 * DAY),
            "goal": sum(1 for s in seconds if s <= 15 * DAY),
        }
    kz = next(s for s in body["sections"] if s["country"] == "KZ")
    kz_transits = [
        s.transit_seconds
        for v in corridor.views.values()
        for s in v.sections
        if s.country == "KZ" and s.exited_at is not None and s.exited_at >= window_start
    ]
    assert kz["met_target"] == sum(1 for t in kz_transits if t <= 120 * 3600)
    xc = next(s for s in body["sections"] if s["country"] == "XC")
    assert xc["target_seconds"] is None
    assert xc["met_target"] is None
    # The metric observed each delivered journey exactly once, whatever the redeliveries.
    delivered = sum(1 for v in corridor.views.values() if journey_of(v) is not None)
    observed = sum(
        sample.value
        for metric in corridor.registry.collect()
        for sample in metric.samples
        if sample.name == "corridor_tracker_through_transit_seconds_count"
    )
    assert observed == delivered
