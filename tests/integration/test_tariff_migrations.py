"""The tariff's migrations on both databases: the schema is what the code declares; revision
0002 keeps the bookings of 0001 readable and chargeable; 0003 keeps every charge as its
revision 1 (and downgrades to the latest revision)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_sessionmaker

from corridor import db
from corridor.metrics import make_registry
from services.tariff.db import MIGRATIONS, Base, ChargeRow, SqlRepository, sql_units
from services.tariff.documents import quote_doc
from services.tariff.handlers import Tariff
from services.tariff.metrics import TariffMetrics
from services.tariff.rates import QuoteRequest, load_card_book, quote
from services.tariff.settings import SHIPPED_CARDS
from tests.conftest import unique
from tests.tariff_support import RULES, TOPOLOGY

pytestmark = pytest.mark.integration

AT = datetime(2026, 12, 1, 8, tzinfo=UTC)


async def test_a_booking_of_revision_0001_is_a_claim_of_its_carrier_after_0002(
    database_url: str,
) -> None:
    engine = db.make_engine(database_url)

    def upgrade_to_0001(conn: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", MIGRATIONS)
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")

    async with engine.begin() as conn:
        await conn.run_sync(upgrade_to_0001)
    book = load_card_book(SHIPPED_CARDS, TOPOLOGY)
    booked = quote(
        book, TOPOLOGY, QuoteRequest("CNHRS", "GEPTI", "40HC", Decimal(24_000), AT.date())
    )
    shipment_id = unique("SHP")
    insert = text(
        "INSERT INTO tariff_bookings (shipment_id, carrier, event_id, booked_at, card_version,"
        " currency, total, quote, recorded_at) VALUES (:s, 'mcm', 'e-1', :at, :v, 'USD', :t,"
        " :q, :at)"
    )
    async with engine.begin() as conn:
        at = AT.replace(tzinfo=None) if engine.dialect.name == "sqlite" else AT
        values = {"s": shipment_id, "at": at, "v": booked.card_version}
        values |= {"t": str(booked.total), "q": json.dumps(quote_doc(booked))}
        await conn.execute(insert, values)
    await db.migrate(engine, MIGRATIONS)
    tariff = Tariff(sql_units(engine), book, TOPOLOGY, TariffMetrics(make_registry()), RULES)
    shown = await tariff.shipment_charges(shipment_id, RULES.registry.principals["customs-kz"])
    assert shown is not None
    assert shown["booked_quote"] is not None
    assert shown["booked_quote"]["total"] == str(booked.total)
    await engine.dispose()


def _upgrade_to(revision: str) -> Callable[[Connection], None]:
    def run(conn: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", MIGRATIONS)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)

    return run


def _downgrade_to(revision: str) -> Callable[[Connection], None]:
    def run(conn: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", MIGRATIONS)
        config.attributes["connection"] = conn
        command.downgrade(config, revision)

    return run


async def test_the_schema_matches_the_tables_the_code_declares(database_url: str) -> None:
    engine = db.make_engine(database_url)
    await db.migrate(engine, MIGRATIONS)

    def diff(conn: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []
    await engine.dispose()


async def test_a_charge_of_revision_0002_is_revision_1_after_0003_and_back(
    database_url: str,
) -> None:
    engine = db.make_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade_to("0002"))
    shipment_id = unique("SHP")
    document = {"charge_id": "c-1", "shipment_id": shipment_id, "total": "10.00"}
    at = AT.replace(tzinfo=None) if engine.dialect.name == "sqlite" else AT
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO tariff_charges (charge_id, shipment_id, card_version, currency,"
                " total, document, computed_at, published_at) VALUES ('c-1', :s, 'v', 'USD',"
                " '10.00', :d, :at, :at)"
            ),
            {"s": shipment_id, "d": json.dumps(document), "at": at},
        )
    await db.migrate(engine, MIGRATIONS)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session:
        row = await session.get(ChargeRow, ("c-1", 1))
        assert row is not None
        assert row.published_at == AT  # published before: not published again
        assert row.document == {**document, "revision": 1, "difference": "10.00"}
        assert await SqlRepository(session).unpublished(10) == []
    async with engine.begin() as conn:
        await conn.run_sync(_downgrade_to("0002"))
    async with engine.connect() as conn:
        [back] = (await conn.execute(text("SELECT charge_id, document FROM tariff_charges"))).all()
    assert back.charge_id == "c-1"
    stored = back.document if isinstance(back.document, dict) else json.loads(back.document)
    assert stored == document
    await engine.dispose()
