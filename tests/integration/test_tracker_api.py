"""The query API over real databases (SQLite and PostgreSQL): shipments, timelines,
equipment, corridor KPIs; problem+json for unknown ids and bad parameters. Read as an
operator here (it reads everything); test_tracker_access.py checks who reads what."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from corridor.journeys import JourneyOptions, Post
from services.tracker.domain import (
    Status,
    percentile,
    unique_in_order,
)
from tests.conftest import unique
from tests.integration.tracker_harness import NOW, Corridor, open_corridor
from tests.unit.test_tracker_samples import domain_event, journey

pytestmark = pytest.mark.integration


@pytest.fixture
async def corridor(database_url: str) -> AsyncIterator[Corridor]:
    async with open_corridor(database_url) as opened:
        yield opened


def until(posts: list[Post], event_type: str, location: str | None = None) -> list[Post]:
    """The posts up to and including the first of this type (at this location)."""
    for index, post in enumerate(posts):
        body = post.body
        actual = body.get("classifier", "ACT") == "ACT"
        if actual and body["event_type"] == event_type and location in (None, body["location"]):
            return posts[: index + 1]
    raise AssertionError(f"no {event_type} at {location}")


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def test_unknown_ids_are_problem_json_404s(corridor: Corridor) -> None:
    for path in (
        "/v1/shipments/NOPE-1",
        "/v1/shipments/NOPE-1/events",
        "/v1/containers/MSCU6639870",
        "/v1/wagons/50000008",
    ):
        body = assert_problem(await corridor.get(path), 404)
        assert "no " in body["detail"]


async def test_a_shipment_in_transit_shows_where_it_is_and_when_it_should_arrive(
    corridor: Corridor,
) -> None:
    posts = journey(31, unique("API"), options=JourneyOptions(destinations=("GEPTI",)))
    view = await corridor.track(until(posts, "DEPARTED", "KZAKL"))
    response = await corridor.get(f"/v1/shipments/{view.shipment_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "IN_TRANSIT"
    assert body["origin"] == view.origin
    assert body["destination"] == "GEPTI"
    assert body["current_location"] == "KZAKL"
    assert body["last_event"]["event_type"] == "DEPARTED"
    assert [s["country"] for s in body["sections"]] == ["CN", "KZ"]
    kz = body["sections"][1]
    assert kz["exited_at"] is None
    assert kz["target_seconds"] == 120 * 3600
    assert [(d["node"], d["kind"]) for d in body["dwells"]] == [("KZAKL", "border")]
    assert body["dwells"][0]["dwell_seconds"] > 0
    assert body["eta"] is not None
    assert datetime.fromisoformat(body["eta"]) > datetime.fromisoformat(
        body["last_event"]["occurred_at"]
    )
    assert isinstance(body["delayed"], bool)
    assert body["counts"] == {"events": view.events, "duplicates": 0, "set_aside": 0}


async def test_the_timeline_is_in_time_order_without_copies_and_pages_with_a_cursor(
    corridor: Corridor,
) -> None:
    posts = journey(32, unique("TL"))
    shuffled = [*posts, *posts[:6]]
    random.Random(32).shuffle(shuffled)
    view = await corridor.track(shuffled)
    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        body = (await corridor.get(f"/v1/shipments/{view.shipment_id}/events", **params)).json()
        seen += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    expected = unique_in_order(domain_event(p) for p in posts)
    assert [(e["carrier"], e["event_id"]) for e in seen] == [e.key for e in expected]
    assert pages == -(-len(expected) // 7)
    booked = next(e for e in seen if e["event_type"] == "BOOKED")
    assert booked["booking"]["destination"] == view.destination


async def test_shipments_are_listed_by_status_location_and_delay_in_pages(
    corridor: Corridor,
) -> None:
    options = JourneyOptions(customs_hold_rate=1.0, estimate_rate=0.0)
    for seed in range(40, 46):
        await corridor.track(journey(seed, unique("LST")))  # delivered
    for seed in range(50, 54):
        posts = journey(seed, unique("LST"), options=options)
        await corridor.track(until(posts, "CUSTOMS_HOLD"))
    for seed in range(60, 63):
        posts = journey(seed, unique("LST"))
        await corridor.track(until(posts, "ARRIVED", "AZBAK"))

    async def all_pages(**filters: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = {"limit": 2, **filters} | ({"cursor": cursor} if cursor else {})
            body = (await corridor.get("/v1/shipments", **params)).json()
            items += body["items"]
            cursor = body["next_cursor"]
            if cursor is None:
                return items

    everything = await all_pages()
    ids = [s["shipment_id"] for s in everything]
    assert ids == sorted(corridor.views)
    for status in Status:
        listed = [s["shipment_id"] for s in await all_pages(status=status.value)]
        assert listed == sorted(i for i, v in corridor.views.items() if v.status is status)
    at_baku = [s["shipment_id"] for s in await all_pages(location="AZBAK")]
    assert at_baku == sorted(i for i, v in corridor.views.items() if v.current_location == "AZBAK")
    assert len(at_baku) == 3
    delayed = {s["shipment_id"] for s in await all_pages(delayed="true")}
    on_time = {s["shipment_id"] for s in await all_pages(delayed="false")}
    assert delayed | on_time == set(ids)
    assert not delayed & on_time
    assert {s["shipment_id"] for s in everything if s["delayed"]} == delayed


async def test_a_container_and_a_wagon_list_the_shipments_they_carried(
    corridor: Corridor,
) -> None:
    carried: dict[str, list[str]] = {}
    for seed in range(70, 90):
        view = await corridor.track(journey(seed, unique("EQ")))
        equipment = view.container_no or view.wagon_no
        carried.setdefault(equipment, []).append(view.shipment_id)
    container = next(v for v in corridor.views.values() if v.container_no)
    body = (await corridor.get(f"/v1/containers/{container.container_no}")).json()
    assert body["equipment"] == container.container_no
    assert [s["shipment_id"] for s in body["items"]] == sorted(carried[container.container_no])
    wagon = next((v for v in corridor.views.values() if v.wagon_no), None)
    if wagon is not None:
        body = (await corridor.get(f"/v1/wagons/{wagon.wagon_no}")).json()
        assert [s["shipment_id"] for s in body["items"]] == sorted(carried[wagon.wagon_no])
    assert_problem(await corridor.get(f"/v1/wagons/{container.container_no}"), 404)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/shipments", {"limit": 0}, "query.limit"),
        ("/v1/shipments", {"limit": 201}, "query.limit"),
        ("/v1/shipments", {"status": "LOST"}, "query.status"),
        ("/v1/shipments", {"delayed": "perhaps"}, "query.delayed"),
        ("/v1/shipments", {"location": "ZZZZZ"}, "location"),
        ("/v1/shipments", {"cursor": "not-a-cursor"}, "cursor"),
        ("/v1/shipments/X/events", {"cursor": "WyJ4Il0"}, "cursor"),
    ],
)
async def test_bad_parameters_are_422_naming_the_field(
    corridor: Corridor, path: str, params: dict[str, Any], field: str
) -> None:
    body = assert_problem(await corridor.get(path, **params), 422)
    assert [e["field"] for e in body["errors"]] == [field]


async def test_the_corridor_shows_shipments_by_status_and_node_and_section_kpis(
    corridor: Corridor,
) -> None:
    for seed in range(100, 112):
        await corridor.track(journey(seed, unique("KPI")))
    posts = journey(120, unique("KPI"))
    await corridor.track(until(posts, "ARRIVED", "KZAKL"))
    body = (await corridor.get("/v1/corridor")).json()
    views = corridor.views.values()
    assert body["shipments_by_status"] == {
        s.value: sum(1 for v in views if v.status is s) for s in Status
    }
    assert body["shipments_by_node"] == {"KZAKL": 1}
    window_start = NOW - timedelta(days=30)
    kz = [
        (s.transit_seconds, v)
        for v in views
        for s in v.sections
        if s.country == "KZ" and s.exited_at is not None and s.exited_at >= window_start
    ]
    section = next(s for s in body["sections"] if s["country"] == "KZ")
    assert section["shipments"] == len(kz)
    transits = [float(t) for t, _ in kz]
    assert section["median_transit_seconds"] == pytest.approx(percentile(transits, 0.5))
    assert section["p90_transit_seconds"] == pytest.approx(percentile(transits, 0.9))
    assert section["target_seconds"] == 120 * 3600
    assert section["tonnes"] == pytest.approx(sum(v.gross_weight_kg for _, v in kz) / 1000)
    assert section["teu"] == pytest.approx(sum(v.teu for _, v in kz))
    countries = [s["country"] for s in body["sections"]]
    assert countries.index("KZ") < countries.index("XC") < countries.index("AZ")
