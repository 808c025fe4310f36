"""Charges from events, against the real broker and both databases: a journey with a long
port dwell is charged once, with storage, however often DELIVERED comes back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from aiokafka import ConsumerRecord
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import async_sessionmaker

from corridor import db, kafka
from corridor.journeys import Post
from corridor.kafka import (
    OutgoingRecord,
    Publisher,
    header,
)
from corridor.metrics import make_registry
from corridor.settings import KafkaSettings
from corridor.v1 import charges_pb2
from services.tariff.app import create_app
from services.tariff.contracts import decode_event
from services.tariff.db import MIGRATIONS, ChargeRow, sql_units
from services.tariff.handlers import Tariff, charge_id
from services.tariff.metrics import TariffMetrics
from services.tariff.rates import load_card_book
from services.tariff.settings import SHIPPED_CARDS, TariffSettings
from tests.conftest import unique
from tests.support import eventually, read_records
from tests.tariff_support import (
    AS_OPERATOR,
    RULES,
    TOPOLOGY,
    cargo_event,
    charges_of,
    long_aktau_journey,
    record,
    running,
)

pytestmark = pytest.mark.integration


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


def consumed(metrics_text: str, topic: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(metrics_text):
        if family.name == "corridor_tariff_consumed_records":
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.labels.get("topic") == topic:
                    total += sample.value
    return total


async def test_a_journey_with_a_long_port_dwell_is_charged_once_with_storage(
    settings: TariffSettings, publisher: Publisher
) -> None:
    shipment_id = unique("SHP")
    posts = long_aktau_journey(shipment_id, datetime.now(UTC) - timedelta(days=25))
    delivered = next(p for p in posts if p.body["event_type"] == "DELIVERED")
    bootstrap = settings.kafka.bootstrap_servers
    app = create_app(settings)
    async with running(app) as client:
        await publisher.publish_many([record(settings.events_topic, p) for p in posts])
        [charge_record] = await read_records(
            bootstrap, settings.charges_topic, lambda rs: len(rs) >= 1
        )
        assert header(charge_record, "ce_type") == kafka.CE_TYPE_CHARGE
        assert header(charge_record, "ce_id") == charge_id(shipment_id)
        charge = charges_pb2.Charge.FromString(charge_record.value)
        assert charge.shipment_id == shipment_id
        assert charge.card_version == "EXAMPLE-2026.1"
        [storage] = [s for s in charge.surcharges if s.kind == "storage"]
        assert (storage.node, storage.operator, storage.days) == ("KZAAU", "PORT-AKTAU", 3)
        per_day = {"20GP": "12.00", "40GP": "18.00", "40HC": "18.00", "45HC": "20.00"}
        unit = posts[0].body["booking"]["container_type"]
        assert Decimal(storage.amount) == 3 * Decimal(per_day[unit])
        assert sum(Decimal(a.amount) for a in charge.apportionment) == Decimal(charge.total)

        # Redelivered, and re-posted under a new event id: still one charge.
        again = Post(
            delivered.carrier, {**delivered.body, "event_id": "re-posted"}, delivered.occurred_at
        )
        await publisher.publish_many(
            [record(settings.events_topic, delivered), record(settings.events_topic, again)]
        )

        async def both_consumed() -> bool | None:
            text = (await client.get("/metrics")).text
            return True if consumed(text, settings.events_topic) >= len(posts) + 2 else None

        await eventually(both_consumed, within=20)
        everything = await read_records(bootstrap, settings.charges_topic)
        assert len(charges_of(everything, shipment_id)) == 1

        response = await client.get(f"/v1/shipments/{shipment_id}/charges", headers=AS_OPERATOR)
        assert response.status_code == 200
        body = response.json()
        [shown] = body["charges"]
        assert shown["total"] == charge.total
        assert shown["charge_id"] == charge.charge_id
        assert body["booked_quote"]["total"] == shown["quoted_total"]
        assert Decimal(shown["total"]) == Decimal(shown["quoted_total"]) + Decimal(storage.amount)
        metrics = (await client.get("/metrics")).text
        assert "corridor_tariff_charges_total 1.0" in metrics
        assert 'corridor_tariff_revenue_total{currency="USD",operator="PORT-AKTAU"}' in metrics


async def test_delivered_before_booked_is_charged_when_the_booking_arrives(
    settings: TariffSettings, publisher: Publisher
) -> None:
    shipment_id = unique("SHP")
    posts = long_aktau_journey(shipment_id, datetime.now(UTC) - timedelta(days=25))
    booked, rest = posts[0], posts[1:]
    app = create_app(settings)
    async with running(app) as client:
        await publisher.publish_many([record(settings.events_topic, p) for p in rest])

        async def consumed_all() -> bool | None:
            text = (await client.get("/metrics")).text
            return True if consumed(text, settings.events_topic) >= len(rest) else None

        await eventually(consumed_all, within=20)
        unknown = await client.get(f"/v1/shipments/{shipment_id}/charges", headers=AS_OPERATOR)
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/problem+json"

        await publisher.publish(record(settings.events_topic, booked))
        records = await read_records(
            settings.kafka.bootstrap_servers, settings.charges_topic, lambda rs: len(rs) >= 1
        )
        [charge] = charges_of(records, shipment_id)
        assert any(s.kind == "storage" and s.node == "KZAAU" for s in charge.surcharges)


async def test_undecodable_and_unpriceable_records_are_dead_lettered_with_a_reason(
    settings: TariffSettings, publisher: Publisher
) -> None:
    shipment_id = unique("SHP")
    [booked] = long_aktau_journey(shipment_id, datetime(2019, 5, 1, tzinfo=UTC))[:1]
    app = create_app(settings)
    async with running(app) as client:
        await publisher.publish_many(
            [
                OutgoingRecord(settings.events_topic, shipment_id, b"\xff\x00garbage", []),
                record(settings.events_topic, booked),  # 2019: no card in force
            ]
        )

        def mine(records: list[ConsumerRecord]) -> list[ConsumerRecord]:
            return [r for r in records if header(r, "dlq_source_topic") == settings.events_topic]

        records = await read_records(
            settings.kafka.bootstrap_servers,
            kafka.EVENTS_DLQ_TOPIC,
            lambda rs: len(mine(rs)) >= 2,
        )
        reasons = sorted(header(r, "dlq_reason") or "" for r in mine(records))
        assert reasons[0].startswith("booking cannot be priced: booking.shipping_date: no rate")
        assert reasons[1].startswith("undecodable CargoEvent: ")
        # The booking is known (it names the booker) but has no quote, so nothing is charged.
        shown = await client.get(f"/v1/shipments/{shipment_id}/charges", headers=AS_OPERATOR)
        assert shown.json() == {"shipment_id": shipment_id, "booked_quote": None, "charges": []}


async def test_a_charge_committed_but_not_published_is_published_at_start_up_once(
    settings: TariffSettings,
) -> None:
    # The state a crash between the commit and the broker's ack leaves behind.
    shipment_id = unique("SHP")
    posts = long_aktau_journey(shipment_id, datetime.now(UTC) - timedelta(days=25))
    engine = db.make_engine(settings.database_url)
    await db.migrate(engine, MIGRATIONS)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    tariff = Tariff(
        sql_units(engine),
        load_card_book(SHIPPED_CARDS, TOPOLOGY),
        TOPOLOGY,
        TariffMetrics(make_registry()),
        RULES,
    )
    events = [decode_event(cargo_event(p).SerializeToString()) for p in posts]
    assert await tariff.apply(events) == []
    async with sessions() as session:
        row = await session.get(ChargeRow, (charge_id(shipment_id), 1))
        assert row is not None
        assert row.published_at is None
    await engine.dispose()

    app = create_app(settings)
    async with running(app) as client:
        records = await read_records(
            settings.kafka.bootstrap_servers, settings.charges_topic, lambda rs: len(rs) >= 1
        )
        assert len(charges_of(records, shipment_id)) == 1

        async def flagged() -> bool | None:
            async with sessions() as session:
                row = await session.get(ChargeRow, (charge_id(shipment_id), 1))
                return True if row is not None and row.published_at is not None else None

        await eventually(flagged, within=10)
        # Once flagged, nothing publishes it again (the outbox runs every 0.5 s here).
        metrics = (await client.get("/metrics")).text
        assert 'corridor_tariff_published_records_total{outcome="ok",topic="' in metrics
    everything = await read_records(settings.kafka.bootstrap_servers, settings.charges_topic)
    assert len(charges_of(everything, shipment_id)) == 1


async def test_a_conflicting_duplicate_is_dead_lettered_and_another_carriers_booking_too(
    settings: TariffSettings, publisher: Publisher
) -> None:
    shipment_id = unique("SHP")
    posts = long_aktau_journey(shipment_id, datetime.now(UTC) - timedelta(days=25))
    booked, departed = posts[0], next(p for p in posts if p.body["event_type"] == "DEPARTED")
    reused = Post(departed.carrier, {**departed.body, "location": "KZALA"}, departed.occurred_at)
    rival = Post("ktz", {**booked.body, "event_id": "ktz-booking"}, booked.occurred_at)
    app = create_app(settings)
    async with running(app):
        topic = settings.events_topic
        await publisher.publish_many(
            [record(topic, p) for p in (booked, departed, departed, reused, rival)]
        )

        def mine(records: list[ConsumerRecord]) -> list[ConsumerRecord]:
            return [r for r in records if header(r, "dlq_source_topic") == topic]

        records = await read_records(
            settings.kafka.bootstrap_servers, kafka.EVENTS_DLQ_TOPIC, lambda rs: len(mine(rs)) >= 2
        )
        reasons = sorted(header(r, "dlq_reason") or "" for r in mine(records))
        assert reasons[0].startswith("conflicting duplicate: ")
        assert reasons[1].startswith("not_the_booker: ktz may not amend")
        assert len(reasons) == 2  # the identical copy of DEPARTED is a harmless retry
