"""The trust rules through the tracker and its API over real databases: events that do not
count change nothing and are listed (held or refused) for their carrier; events held before
a booking count once it arrives; amendments by time; conflicting duplicates refused."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from corridor.journeys import JourneyOptions, Post
from corridor.parties import booked_route
from services.tracker.db import queries
from services.tracker.db.tables import set_aside_events, shipment_access
from services.tracker.domain import Event, EventType, Status, TrackedShipment, fold
from tests.conftest import unique
from tests.integration.tracker_harness import NOW, Corridor, open_corridor
from tests.unit.test_tracker_samples import RULES, domain_event, journey

pytestmark = pytest.mark.integration

# What Aktau's port is told about the events of ``attack``.
AKTAU = [("aktau-1", "refused", "too_old"), ("aktau-2", "refused", "not_a_party")]
TO_POTI = JourneyOptions(origins=("CNHRS",), destinations=("GEPTI",), estimate_rate=0)
# The victim: Almaty -> Poti runs via Kuryk, so Aktau's port takes no part in it
# (Khorgos -> Poti runs via Aktau, on the direct Altynkol-Aktau line).
VIA_KURYK = JourneyOptions(origins=("KZALA",), destinations=("GEPTI",), estimate_rate=0)


@pytest.fixture
async def corridor(database_url: str) -> AsyncIterator[Corridor]:
    async with open_corridor(database_url) as opened:
        yield opened


async def stored(corridor: Corridor, shipment_id: str) -> TrackedShipment:
    async with corridor.engine.connect() as conn:
        found = await queries.get_shipment(conn, shipment_id)
    assert found is not None
    return found


async def rows(corridor: Corridor, shipment_id: str) -> tuple[int, int]:
    """Set-aside rows and access scopes stored for a shipment."""
    async with corridor.engine.connect() as conn:
        aside = await conn.execute(
            select(func.count()).where(set_aside_events.c.shipment_id == shipment_id)
        )
        scopes = await conn.execute(
            select(func.count()).where(shipment_access.c.shipment_id == shipment_id)
        )
        return int(aside.scalar_one()), int(scopes.scalar_one())


def attack(posts: list[Post]) -> list[Event]:
    """Aktau's port, no party to a shipment booked through Kuryk: an arrival back-dated by
    decades and a delivery at Aktau."""
    booking = posts[0].body["booking"]
    assert "KZAAU" not in booked_route(RULES.topology, booking["origin"], booking["destination"])
    first = domain_event(posts[3])
    return [
        first._replace(
            carrier="port-aktau",
            event_id="aktau-1",
            event_type=EventType.ARRIVED,
            location="KZAAU",
            occurred_at=first.occurred_at.replace(year=1996),
        ),
        first._replace(
            carrier="port-aktau",
            event_id="aktau-2",
            event_type=EventType.DELIVERED,
            location="KZAAU",
            occurred_at=first.occurred_at + timedelta(hours=1),
        ),
    ]


def metric_samples(corridor: Corridor, name: str) -> dict[tuple[str, ...], float]:
    text = generate_latest(corridor.registry).decode()
    return {
        tuple(s.labels.values()): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and s.value
    }


async def test_the_attack_leaves_the_victim_unchanged_and_the_attacker_sees_why(
    corridor: Corridor, caplog: pytest.LogCaptureFixture
) -> None:
    posts = journey(41, unique("ATK"), options=VIA_KURYK)
    half = [domain_event(p) for p in posts[: len(posts) // 2]]
    shipment_id = half[0].shipment_id
    await corridor.tracker.apply(half)
    before = await stored(corridor, shipment_id)
    timeline = (await corridor.get(f"/v1/shipments/{shipment_id}/events")).json()["items"]
    with caplog.at_level(logging.WARNING, logger="services.tracker.handlers.tracker"):
        await corridor.tracker.apply(attack(posts))
    after = await stored(corridor, shipment_id)
    assert after.view.set_aside != ()
    view = after.view.copy()
    view.set_aside = ()
    assert view == before.view
    assert after.view == fold(shipment_id, [*half, *attack(posts)], RULES)
    assert (await corridor.get(f"/v1/shipments/{shipment_id}/events")).json()["items"] == timeline
    mine = (await corridor.get("/v1/events/refused", as_="port-aktau")).json()
    assert [(i["event_id"], i["outcome"], i["reason"]) for i in mine["items"]] == AKTAU
    assert mine["items"][0]["shipment_id"] == shipment_id
    assert "takes no part" in mine["items"][1]["message"]
    assert metric_samples(corridor, "corridor_tracker_set_aside_events_total") == {
        ("refused", "too_old"): 1,
        ("refused", "not_a_party"): 1,
    }
    assert metric_samples(corridor, "corridor_tracker_events_total")[("set_aside",)] == 2
    logged = [r for r in caplog.records if r.getMessage() == "event set aside"]
    assert sorted(getattr(r, "event_id") for r in logged) == ["aktau-1", "aktau-2"]  # noqa: B009
    assert {getattr(r, "shipment_id") for r in logged} == {shipment_id}  # noqa: B009
    await corridor.tracker.apply(attack(posts))  # a redelivery: counted once
    assert sum(metric_samples(corridor, "corridor_tracker_set_aside_events_total").values()) == 2


async def test_events_held_before_the_booking_count_once_it_arrives(corridor: Corridor) -> None:
    events = [domain_event(p) for p in journey(42, unique("HLD"), options=TO_POTI)]
    received = NOW - timedelta(days=1)  # the booking comes a day after them, at NOW
    booking = events[0]._replace(recorded_at=NOW)
    rest = [e._replace(recorded_at=received) for e in events[1:8]]
    shipment_id = booking.shipment_id
    await corridor.tracker.apply(rest[:4])
    await corridor.tracker.apply(rest[4:])
    held = await stored(corridor, shipment_id)
    assert (held.view.status, held.view.events, len(held.view.set_aside)) == (Status.BOOKED, 0, 7)
    assert await rows(corridor, shipment_id) == (7, 0)  # read by operators only, for now
    assert (await corridor.get(f"/v1/shipments/{shipment_id}", as_="ktz")).status_code == 404
    ops = await corridor.get(f"/v1/shipments/{shipment_id}/events")
    assert ops.json()["items"] == []
    listed = (await corridor.get("/v1/events/refused", as_="ktz", outcome="held")).json()
    assert len(listed["items"]) == sum(1 for e in rest if e.carrier == "ktz")
    await corridor.tracker.apply([booking])
    after = await stored(corridor, shipment_id)
    assert after.view == fold(shipment_id, [booking, *rest], RULES)
    assert after.view.set_aside == ()
    assert after.view.events == 8
    aside, scopes = await rows(corridor, shipment_id)
    assert aside == 0
    assert scopes > 0
    assert (await corridor.get(f"/v1/shipments/{shipment_id}", as_="ktz")).status_code == 200
    timeline = (await corridor.get(f"/v1/shipments/{shipment_id}/events")).json()["items"]
    assert len(timeline) == 8
    assert (await corridor.get("/v1/events/refused", as_="ktz")).json()["items"] == []


async def test_the_set_aside_events_are_listed_per_role(corridor: Corridor) -> None:
    """A carrier sees its own, held and refused (a held event past its window is refused,
    hold_expired); operators see all and may filter; other roles get 403."""
    posts = journey(43, unique("SA"), options=VIA_KURYK)
    await corridor.tracker.apply([domain_event(p) for p in posts[:5]])
    await corridor.tracker.apply(attack(posts))
    unbooked = [domain_event(p) for p in journey(44, unique("SA"), options=TO_POTI)[1:3]]
    window = RULES.hold_window
    waiting = unbooked[0]._replace(carrier="ktz", recorded_at=NOW - window / 2)
    expired = unbooked[1]._replace(carrier="ktz", recorded_at=NOW - window * 2)
    await corridor.tracker.apply([waiting, expired])

    async def listed(reader: str, **params: Any) -> list[tuple[str, str, str]]:
        found: list[tuple[str, str, str]] = []
        cursor = None
        while True:
            page = {"limit": 1, **params} | ({"cursor": cursor} if cursor else {})
            response = await corridor.get("/v1/events/refused", as_=reader, **page)
            assert response.status_code == 200, response.text
            body = response.json()
            found += [(i["event_id"], i["outcome"], i["reason"]) for i in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                return found

    held = (waiting.event_id, "held", "no_booking")
    gone = (expired.event_id, "refused", "hold_expired")
    aktau = AKTAU
    assert sorted(await listed("ktz")) == sorted([held, gone])
    assert await listed("ktz", outcome="held") == [held]
    assert await listed("ktz", outcome="refused") == [gone]
    assert await listed("ktz", carrier="ktz") == sorted([held, gone])
    assert await listed("port-aktau") == aktau
    assert await listed("asco") == []
    everything = await listed("corridor-ops")
    assert sorted(everything) == sorted([held, gone, *aktau])
    assert await listed("mcm", carrier="port-aktau") == aktau
    assert await listed("corridor-ops", outcome="refused", carrier="ktz") == [gone]
    for reader in ("shipper-xian", "customs-kz", "partner-insurer"):
        response = await corridor.get("/v1/events/refused", as_=reader)
        assert response.status_code == 403, reader
        assert response.headers["content-type"] == "application/problem+json"
    other = await corridor.get("/v1/events/refused", as_="ktz", carrier="port-aktau")
    assert other.status_code == 403


async def test_amendments_by_the_booker_apply_by_time_and_another_booker_is_refused(
    corridor: Corridor,
) -> None:
    events = [domain_event(p) for p in journey(45, unique("AMD"), options=TO_POTI)]
    booking = events[0]
    assert booking.booking is not None
    shipment_id = booking.shipment_id

    def amended(hours: float, weight: float, carrier: str = "mcm") -> Event:
        assert booking.booking is not None
        return booking._replace(
            carrier=carrier,
            event_id=f"{carrier}-amend-{hours:g}",
            occurred_at=booking.occurred_at + timedelta(hours=hours),
            booking=booking.booking._replace(gross_weight_kg=weight),
        )

    await corridor.tracker.apply(events[:6])
    await corridor.tracker.apply([amended(3, 25_000)])
    await corridor.tracker.apply([amended(1, 11_000)])  # older: received later, loses
    await corridor.tracker.apply([amended(5, 9_000, carrier="ktz")])  # not the booker
    view = (await stored(corridor, shipment_id)).view
    assert view.booker == "mcm"
    assert view.gross_weight_kg == 25_000
    assert [(s.event_id, s.reason) for s in view.set_aside] == [("ktz-amend-5", "not_the_booker")]
    assert view.events == 8
    body = (await corridor.get(f"/v1/shipments/{shipment_id}")).json()
    assert body["gross_weight_kg"] == 25_000


async def test_a_conflicting_duplicate_is_refused_and_an_identical_one_is_harmless(
    corridor: Corridor,
) -> None:
    events = [domain_event(p) for p in journey(46, unique("DUP"), options=TO_POTI)][:6]
    shipment_id = events[0].shipment_id
    await corridor.tracker.apply(events)
    before = await stored(corridor, shipment_id)
    moved = events[3]._replace(location="KZALA")
    retried = events[4]._replace(recorded_at=NOW)
    result = await corridor.tracker.apply([moved, retried])
    assert [(e is moved, why.split(" with ")[-1]) for e, why in result.conflicting] == [
        (True, "different location")
    ]
    assert result.conflicting[0][1].startswith("conflicting duplicate: ")
    assert result.duplicates == 1
    after = await stored(corridor, shipment_id)
    assert (after.view, after.version) == (before.view, before.version)
    assert after.duplicates == before.duplicates + 1
    fresh = [domain_event(p) for p in journey(47, unique("DUP"), options=TO_POTI)][:3]
    twice = fresh[2]._replace(occurred_at=fresh[2].occurred_at + timedelta(minutes=5))
    result = await corridor.tracker.apply([*fresh, twice, fresh[1]])
    assert [e for e, _ in result.conflicting] == [twice]
    assert (len(result.applied), result.duplicates) == (3, 1)
    assert (await stored(corridor, fresh[0].shipment_id)).view == fold(
        fresh[0].shipment_id, fresh, RULES
    )
