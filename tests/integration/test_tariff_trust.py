"""The trust rules in the tariff, on both databases: only a party's plausible movements
make a charge, bookings belong to their booker (the latest ``occurred_at`` wins), a reused
event id with other content is refused, and a shipment's charges are read only by those
who may read it."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from corridor import db
from corridor.journeys import JourneyOptions, Post, plan_journey
from corridor.metrics import make_registry
from corridor.parties import booked_route
from services.tariff.app import create_app
from services.tariff.contracts import decode_event
from services.tariff.db import MIGRATIONS, sql_units
from services.tariff.handlers import Rejection, Tariff
from services.tariff.metrics import TariffMetrics
from services.tariff.rates import load_card_book
from services.tariff.settings import SHIPPED_CARDS, TariffSettings
from tests.conftest import unique
from tests.tariff_support import RULES, TOPOLOGY, cargo_event

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
OPERATOR = {"Authorization": "Bearer demo-mcm"}


def journey(shipment_id: str, start: datetime, origin: str = "CNHRS") -> list[Post]:
    """A container journey booked by the joint company (mcm) to Poti, no holds."""
    options = JourneyOptions(
        origins=(origin,),
        destinations=("GEPTI",),
        customs_hold_rate=0,
        exception_rate=0,
        estimate_rate=0,
        wagon_share=0,
    )
    seed = 11
    while True:
        posts = plan_journey(random.Random(seed), TOPOLOGY, start, shipment_id, options)
        if posts[0].body["booking"]["container_type"] != "WAGON":
            return posts
        seed += 1


def post(
    carrier: str, shipment_id: str, event_id: str, kind: str, where: str, at: datetime
) -> Post:
    body = {
        "event_id": event_id,
        "event_type": kind,
        "occurred_at": at.isoformat(),
        "shipment_id": shipment_id,
        "location": where,
    }
    return Post(carrier, body, at)


def booking(post_: Post, **change: Any) -> Post:
    """The same BOOKED with other booking details (and event id / time if given)."""
    body = dict(post_.body)
    carrier = change.pop("carrier", post_.carrier)
    at = change.pop("at", post_.occurred_at)
    body.update(event_id=change.pop("event_id", body["event_id"]), occurred_at=at.isoformat())
    body["booking"] = {**body["booking"], **change}
    return Post(carrier, body, at)


@pytest.fixture
async def tariff(database_url: str) -> AsyncIterator[Tariff]:
    engine = db.make_engine(database_url)
    await db.migrate(engine, MIGRATIONS)
    metrics = TariffMetrics(make_registry())
    yield Tariff(
        sql_units(engine), load_card_book(SHIPPED_CARDS, TOPOLOGY), TOPOLOGY, metrics, RULES
    )
    await engine.dispose()


async def apply(
    tariff: Tariff, posts: list[Post], recorded_at: datetime | None = None
) -> list[Rejection]:
    return await tariff.apply(
        [decode_event(cargo_event(p, recorded_at).SerializeToString()) for p in posts]
    )


async def charges(tariff: Tariff, shipment_id: str) -> dict[str, Any]:
    found = await tariff.shipment_charges(shipment_id, RULES.registry.principals["mcm"])
    assert found is not None
    return found


async def test_the_aktau_attack_leaves_the_victim_charged_the_honest_amount(
    tariff: Tariff,
) -> None:
    victim, control = unique("SHP"), unique("SHP")
    start = NOW - timedelta(days=20)
    posts = journey(victim, start, origin="KZALA")
    booked, rest = posts[0], posts[1:]
    assert booked.body["booking"]["origin"] == "KZALA"
    assert "KZAAU" not in booked_route(TOPOLOGY, "KZALA", "GEPTI")  # via Kuryk
    attack = [
        post("port-aktau", victim, "aktau-1", "ARRIVED", "KZAAU", NOW - timedelta(days=365 * 20)),
        post("port-aktau", victim, "aktau-2", "DELIVERED", "KZAAU", NOW - timedelta(days=1)),
    ]
    # The attacker's events are stored (the consumer refuses nothing it cannot judge yet)...
    assert await apply(tariff, [booked, *attack]) == []
    # ...and make no charge: the port takes no part, one is decades old, neither is at Poti.
    assert (await charges(tariff, victim))["charges"] == []
    set_aside = tariff.metrics.set_aside
    assert set_aside.labels("refused", "too_old")._value.get() == 1
    assert set_aside.labels("refused", "not_a_party")._value.get() == 1

    assert await apply(tariff, rest) == []
    [charge] = (await charges(tariff, victim))["charges"]
    assert not any(s["node"] == "KZAAU" for s in charge["surcharges"])
    # Exactly what the same journey costs without the attack.
    honest = journey(control, start, origin="KZALA")
    assert await apply(tariff, honest) == []
    [expected] = (await charges(tariff, control))["charges"]
    assert charge["total"] == expected["total"]
    assert Decimal(charge["total"]) < 10_000


async def test_movements_held_before_the_booking_count_once_it_arrives(tariff: Tariff) -> None:
    shipment_id = unique("SHP")
    posts = journey(shipment_id, NOW - timedelta(days=20))
    assert await apply(tariff, posts[1:]) == []
    assert await tariff.shipment_charges(shipment_id, RULES.registry.principals["mcm"]) is None
    assert tariff.metrics.set_aside.labels("held", "no_booking")._value.get() > 0

    assert await apply(tariff, posts[:1]) == []
    [charge] = (await charges(tariff, shipment_id))["charges"]
    assert charge["booked_at"] == posts[0].occurred_at.isoformat().replace("+00:00", "Z")


async def test_movements_received_longer_than_the_hold_window_before_the_booking_do_not_count(
    tariff: Tariff,
) -> None:
    shipment_id = unique("SHP")
    posts = journey(shipment_id, NOW - timedelta(days=25))
    delivered = posts[-1]
    assert delivered.body["event_type"] == "DELIVERED"
    # Received when they happened, more than 7 days before the booking is received (now).
    for p in posts[1:]:
        assert await apply(tariff, [p], recorded_at=p.occurred_at) == []
    assert NOW - delivered.occurred_at > RULES.hold_window
    assert await apply(tariff, posts[:1]) == []
    assert (await charges(tariff, shipment_id))["charges"] == []


@pytest.mark.parametrize("order", ["in order", "amendment first"])
async def test_the_booking_with_the_latest_occurred_at_counts_whatever_the_order(
    tariff: Tariff, order: str
) -> None:
    shipment_id = unique("SHP")
    posts = journey(shipment_id, NOW - timedelta(days=20))
    first = booking(posts[0], gross_weight_kg=20_000, container_type="40HC")
    amended = booking(
        posts[0],
        event_id="amended",
        at=first.occurred_at + timedelta(hours=2),
        gross_weight_kg=29_500,  # 3 t over the 40HC limit of the card: overweight
        container_type="40HC",
    )
    claims = [first, amended] if order == "in order" else [amended, first]
    assert await apply(tariff, claims) == []
    quote = (await charges(tariff, shipment_id))["booked_quote"]
    assert (quote["gross_weight_kg"], quote["container_type"]) == ("29500", "40HC")
    assert any(s["kind"] == "overweight" for s in quote["surcharges"])

    # Another carrier's booking (even dated later) changes nothing, and is refused.
    later = amended.occurred_at + timedelta(hours=1)
    other = booking(amended, event_id="ktz-booking", carrier="ktz", at=later, destination="KZAKL")
    [rejection] = await apply(tariff, [other])
    assert rejection.reason.startswith("not_the_booker: ktz may not amend the booking")
    assert (await charges(tariff, shipment_id))["booked_quote"] == quote

    # An operator may amend; the charge uses the booking that counts then.
    latest = amended.occurred_at + timedelta(hours=3)
    by_ops = booking(
        amended, event_id="ops-amend", carrier="corridor-ops", at=latest, gross_weight_kg=21_000
    )
    assert await apply(tariff, [by_ops, *posts[1:]]) == []
    [charge] = (await charges(tariff, shipment_id))["charges"]
    assert charge["gross_weight_kg"] == "21000"
    assert not any(s["kind"] == "overweight" for s in charge["surcharges"])


async def test_a_reused_event_id_with_other_content_is_refused_and_a_retry_is_harmless(
    tariff: Tariff,
) -> None:
    shipment_id = unique("SHP")
    posts = journey(shipment_id, NOW - timedelta(days=20))
    arrived = next(p for p in posts if p.body["event_type"] == "ARRIVED")
    assert await apply(tariff, [*posts[:1], arrived]) == []
    retry = await apply(tariff, [arrived], recorded_at=NOW + timedelta(minutes=5))
    assert retry == []
    moved = Post(arrived.carrier, {**arrived.body, "location": "KZALA"}, arrived.occurred_at)
    [conflict] = await apply(tariff, [moved, arrived])
    assert conflict.index == 0
    assert conflict.reason.startswith("conflicting duplicate:")


# Who reads the charges of a shipment booked by mcm CNHRS -> GEPTI naming shipper-xian:
# 200 with the revenue shares they may see, or 404 exactly as an unknown shipment.
READERS = [
    ("mcm", 200, None),  # operator: every share
    ("corridor-ops", 200, None),
    ("ktz", 200, {"KTZ"}),  # carriers on the route: their own operator's share
    ("gr", 200, {"GR"}),
    ("port-poti", 200, {"PORT-POTI"}),
    ("port-aktau", 200, {"PORT-AKTAU"}),  # Horgos -> Poti runs via Aktau (the direct line)
    ("shipper-xian", 200, set()),  # named party: the bill, no shares
    ("partner-insurer", 200, set()),  # acts for shipper-xian
    ("consignee-tbilisi", 404, None),  # not named
    ("customs-kz", 200, set()),  # the route passes through KZ
    ("customs-ge", 200, set()),
]


@pytest.fixture
async def charged(tariff: Tariff, database_url: str) -> tuple[str, TariffSettings]:
    shipment_id = unique("SHP")
    posts = journey(shipment_id, NOW - timedelta(days=20))
    named = booking(posts[0], parties={"shipper": "shipper-xian"})
    assert await apply(tariff, [named, *posts[1:]]) == []
    return shipment_id, TariffSettings(database_url=database_url)


@pytest.mark.parametrize(("reader", "status", "shares"), READERS)
async def test_charges_are_read_only_by_those_who_may_read_the_shipment(
    charged: tuple[str, TariffSettings], reader: str, status: int, shares: set[str] | None
) -> None:
    shipment_id, settings = charged
    app = create_app(settings)  # no lifespan: the database is already migrated
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tariff") as client:
        url = f"/v1/shipments/{shipment_id}/charges"
        response = await client.get(url, headers={"Authorization": f"Bearer demo-{reader}"})
        assert response.status_code == status, response.text
        everything = (await client.get(url, headers=OPERATOR)).json()
        if status == 404:
            unknown = await client.get("/v1/shipments/SHP-UNKNOWN/charges", headers=OPERATOR)
            assert response.json()["errors"] == unknown.json()["errors"]
            assert response.headers["content-type"] == unknown.headers["content-type"]
            metrics = (await client.get("/metrics")).text
            assert 'corridor_tariff_denied_requests_total{reason="not_visible"' in metrics
            return
        body = response.json()
        [charge] = body["charges"]
        all_shares = {s["operator"] for s in everything["charges"][0]["apportionment"]}
        expected = all_shares if shares is None else shares & all_shares
        assert {s["operator"] for s in charge["apportionment"]} == expected
        assert {s["operator"] for s in body["booked_quote"]["apportionment"]} <= expected
        assert charge["total"] == everything["charges"][0]["total"]  # the bill is the same
        assert charge["legs"] == everything["charges"][0]["legs"]


async def test_charges_need_a_principal(charged: tuple[str, TariffSettings]) -> None:
    shipment_id, settings = charged
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://tariff") as client:
        url = f"/v1/shipments/{shipment_id}/charges"
        for headers in ({}, {"Authorization": "Bearer not-a-key"}):
            response = await client.get(url, headers=headers)
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == "Bearer"
        # The price list stays public.
        assert (await client.get("/v1/tariffs")).status_code == 200
