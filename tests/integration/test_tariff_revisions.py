"""Charges follow late news (issue 11), on both databases: a departure reported after the
delivery, or a booking amendment after the charge, revises the charge; the revision has
the same charge id, the difference to the previous total, its own CloudEvent id; redelivery
changes nothing; and a batch costs the same number of statements however many shipments
it touches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from corridor import db, kafka
from corridor.journeys import Post
from corridor.kafka import Publisher, header
from corridor.metrics import make_registry
from corridor.settings import KafkaSettings
from services.tariff.app import create_app
from services.tariff.contracts import decode_event
from services.tariff.db import MIGRATIONS, sql_units
from services.tariff.handlers import Rejection, Tariff, charge_id
from services.tariff.metrics import TariffMetrics
from services.tariff.rates import load_card_book
from services.tariff.settings import SHIPPED_CARDS, TariffSettings
from services.tracker.consumer import decode as tracker_decode
from services.tracker.domain.fold import fold
from tests.conftest import unique
from tests.support import read_records
from tests.tariff_support import (
    RULES,
    TOPOLOGY,
    cargo_event,
    charges_of,
    long_aktau_journey,
    record,
    running,
)

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
MCM = RULES.registry.principals["mcm"]


def as_40hc(posts: list[Post], **change: Any) -> list[Post]:
    """The journey with its booking for a 40HC (18.00 a day of storage at Aktau, so the
    stretched dwell there costs 3 x 18.00 = 54.00) and ``change``d booking details."""
    booked = posts[0]
    at = change.pop("at", booked.occurred_at)
    body = {**booked.body, "occurred_at": at.isoformat()}
    body["event_id"] = change.pop("event_id", body["event_id"])
    body["booking"] = {**body["booking"], "container_type": "40HC", **change}
    return [Post(booked.carrier, body, at), *posts[1:]]


def aktau_departure(posts: list[Post]) -> Post:
    return next(
        p for p in posts if p.body["event_type"] == "DEPARTED" and p.body["location"] == "KZAAU"
    )


def decoded(posts: list[Post], recorded_at: datetime | None = None) -> list[Any]:
    return [decode_event(cargo_event(p, recorded_at).SerializeToString()) for p in posts]


async def apply(
    tariff: Tariff, posts: list[Post], recorded_at: datetime | None = None
) -> list[Rejection]:
    return await tariff.apply(decoded(posts, recorded_at))


async def charges(tariff: Tariff, shipment_id: str) -> list[dict[str, Any]]:
    found = await tariff.shipment_charges(shipment_id, MCM)
    assert found is not None
    return list(found["charges"])


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = db.make_engine(database_url)
    await db.migrate(engine, MIGRATIONS)
    yield engine
    await engine.dispose()


@pytest.fixture
def tariff(engine: AsyncEngine) -> Tariff:
    metrics = TariffMetrics(make_registry())
    return Tariff(
        sql_units(engine), load_card_book(SHIPPED_CARDS, TOPOLOGY), TOPOLOGY, metrics, RULES
    )


async def test_a_departure_reported_after_delivery_revises_the_charge_to_the_in_order_total(
    tariff: Tariff,
) -> None:
    in_order, late = unique("SHP"), unique("SHP")
    start = NOW - timedelta(days=25)
    assert await apply(tariff, as_40hc(long_aktau_journey(in_order, start))) == []
    [expected] = await charges(tariff, in_order)

    posts = as_40hc(long_aktau_journey(late, start))
    departure = aktau_departure(posts)
    assert await apply(tariff, [p for p in posts if p is not departure]) == []
    [first] = await charges(tariff, late)
    # Without the departure the arrival at Aktau was never left (the cargo was next seen
    # at Baku): no storage, as the tracker's dwell has none.
    assert not any(s["kind"] == "storage" for s in first["surcharges"])
    assert Decimal(expected["total"]) - Decimal(first["total"]) == Decimal("54.00")

    assert await apply(tariff, [departure]) == []
    first_again, second = await charges(tariff, late)
    assert first_again == first
    assert (first["revision"], first["difference"]) == (1, first["total"])
    assert (second["revision"], second["difference"]) == (2, "54.00")
    assert second["charge_id"] == first["charge_id"] == charge_id(late)
    assert second["total"] == expected["total"]
    [storage] = [s for s in second["surcharges"] if s["kind"] == "storage"]
    assert (storage["node"], storage["days"], storage["amount"]) == ("KZAAU", 3, "54.00")

    # The tracker counts the same stay at Aktau from the same events.
    view = fold(
        late, [tracker_decode(cargo_event(p).SerializeToString(), TOPOLOGY) for p in posts], RULES
    )
    stays = [
        d.departed_at - d.arrived_at
        for d in view.dwells
        if d.departed_at is not None and d.node == "KZAAU"
    ]
    assert stays == [timedelta(days=6, hours=3)]

    # Redelivered (the late departure, or the whole journey): nothing new.
    assert await apply(tariff, [departure], recorded_at=NOW + timedelta(minutes=1)) == []
    assert await apply(tariff, posts) == []
    assert await tariff.sweep() == 0
    assert [c["revision"] for c in await charges(tariff, late)] == [1, 2]
    assert tariff.metrics.revisions._value.get() == 1


async def test_revisions_are_shown_with_the_revenue_shares_the_reader_may_see(
    tariff: Tariff,
) -> None:
    shipment_id = unique("SHP")
    posts = as_40hc(long_aktau_journey(shipment_id, NOW - timedelta(days=25)))
    departure = aktau_departure(posts)
    assert await apply(tariff, [p for p in posts if p is not departure]) == []
    assert await apply(tariff, [departure]) == []
    port = await tariff.shipment_charges(shipment_id, RULES.registry.principals["port-aktau"])
    assert port is not None
    assert [c["revision"] for c in port["charges"]] == [1, 2]
    assert [[s["operator"] for s in c["apportionment"]] for c in port["charges"]] == [
        ["PORT-AKTAU"],
        ["PORT-AKTAU"],
    ]
    full = await charges(tariff, shipment_id)
    assert [c["total"] for c in port["charges"]] == [c["total"] for c in full]


@pytest.mark.parametrize("received", ["after the charge", "before the first booking"])
async def test_a_later_amendment_wins_whenever_it_is_received_as_in_the_tracker(
    tariff: Tariff, received: str
) -> None:
    shipment_id = unique("SHP")
    posts = as_40hc(
        long_aktau_journey(shipment_id, NOW - timedelta(days=25)), gross_weight_kg=20_000
    )
    amended = as_40hc(
        posts,
        event_id="amended",
        at=posts[0].occurred_at + timedelta(hours=2),
        gross_weight_kg=29_500,  # 3 t over the 40HC limit of the card: overweight
    )[0]
    if received == "after the charge":
        arrivals = [(posts, NOW - timedelta(hours=2)), ([amended], NOW)]
    else:
        arrivals = [([amended], NOW - timedelta(hours=2)), (posts, NOW)]
    for batch, recorded_at in arrivals:
        assert await apply(tariff, batch, recorded_at) == []
    shown = await charges(tariff, shipment_id)
    assert shown[-1]["gross_weight_kg"] == "29500"
    assert any(s["kind"] == "overweight" for s in shown[-1]["surcharges"])
    if received == "after the charge":
        assert [c["revision"] for c in shown] == [1, 2]
        assert Decimal(shown[1]["difference"]) > 0
        assert shown[0]["gross_weight_kg"] == "20000"
    else:
        assert [c["revision"] for c in shown] == [1]

    # The tracker, given the same events as received, books the same weight.
    events = [
        tracker_decode(cargo_event(p, at).SerializeToString(), TOPOLOGY)
        for batch, at in arrivals
        for p in batch
    ]
    view = fold(shipment_id, events, RULES)
    assert view.booking is not None
    assert Decimal(repr(view.booking.gross_weight_kg)) == Decimal(29_500)

    # An amendment dated before the one that counts changes nothing, whenever it comes.
    older = as_40hc(posts, event_id="older", at=posts[0].occurred_at + timedelta(hours=1))[0]
    assert await apply(tariff, [older], NOW + timedelta(hours=1)) == []
    assert await charges(tariff, shipment_id) == shown


async def test_a_batch_costs_the_same_statements_for_twice_the_shipments(
    tariff: Tariff, engine: AsyncEngine
) -> None:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]).split(None, 1)[0].upper())

    async def cost(shipments: int, late: bool = False) -> list[str]:
        ids = [unique("SHP") for _ in range(shipments)]
        journeys = [as_40hc(long_aktau_journey(i, NOW - timedelta(days=25))) for i in ids]
        batch = [p for posts in journeys for p in posts]
        if late:  # the late departures of journeys charged already: revisions
            batch = [aktau_departure(posts) for posts in journeys]
            await apply(tariff, [p for posts in journeys for p in posts if p not in batch])
        events = decoded(batch)
        statements.clear()
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            assert await tariff.apply(events) == []
            assert await tariff.apply(events) == []  # redelivered
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        return list(statements)

    n = await cost(3)
    assert n == await cost(6)
    assert len(n) <= 12, n
    revised = await cost(3, late=True)
    assert revised == await cost(6, late=True)


@pytest.fixture
def settings(database_url: str, kafka_settings: KafkaSettings) -> TariffSettings:
    return TariffSettings(
        database_url=database_url,
        kafka=kafka_settings,
        events_topic=unique("cargo.events.test"),
        charges_topic=unique("cargo.charges.test"),
        consumer_group=unique("tariff-test"),
        outbox_interval_seconds=0.5,
    )


@pytest.fixture
async def publisher(kafka_settings: KafkaSettings) -> AsyncIterator[Publisher]:
    p = Publisher(kafka_settings, "tariff-test")
    await p.start()
    yield p
    await p.stop()


async def test_the_outbox_publishes_each_revision_once_under_its_own_id(
    settings: TariffSettings, publisher: Publisher
) -> None:
    shipment_id = unique("SHP")
    posts = as_40hc(long_aktau_journey(shipment_id, NOW - timedelta(days=25)))
    departure = aktau_departure(posts)
    topic, bootstrap = settings.events_topic, settings.kafka.bootstrap_servers
    app = create_app(settings)
    async with running(app) as client:
        await publisher.publish_many([record(topic, p) for p in posts if p is not departure])
        await read_records(bootstrap, settings.charges_topic, lambda rs: len(rs) >= 1)
        await publisher.publish_many([record(topic, departure), record(topic, departure)])
        records = await read_records(bootstrap, settings.charges_topic, lambda rs: len(rs) >= 2)
        first, second = charges_of(records, shipment_id)
        assert [header(r, "ce_id") for r in records] == [
            charge_id(shipment_id),
            f"{charge_id(shipment_id)}:2",
        ]
        assert {header(r, "ce_type") for r in records} == {kafka.CE_TYPE_CHARGE}
        assert (first.revision, first.difference) == (1, first.total)
        assert (second.revision, second.difference) == (2, "54.00")
        assert second.charge_id == first.charge_id
        assert Decimal(second.total) == Decimal(first.total) + Decimal("54.00")
        body = (
            await client.get(
                f"/v1/shipments/{shipment_id}/charges", headers={"Authorization": "Bearer demo-mcm"}
            )
        ).json()
        assert [(c["revision"], c["total"]) for c in body["charges"]] == [
            (1, first.total),
            (2, second.total),
        ]
    # Each revision once, even though the departure came twice.
    assert len(charges_of(await read_records(bootstrap, settings.charges_topic), shipment_id)) == 2
