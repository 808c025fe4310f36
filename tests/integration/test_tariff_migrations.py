"""Revision 0002 keeps the bookings of 0001 readable and chargeable, on both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_sessionmaker

from corridor import db
from corridor.metrics import make_registry
from services.tariff.db import MIGRATIONS
from services.tariff.documents import quote_doc
from services.tariff.handlers import Tariff
from services.tariff.metrics import TariffMetrics
from services.tariff.rates import QuoteRequest, load_card_book, quote
from services.tariff.settings import SHIPPED_CARDS
from tests.conftest import unique
from tests.integration.test_tariff_charges import RULES, TOPOLOGY

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
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    tariff = Tariff(sessions, book, TOPOLOGY, TariffMetrics(make_registry()), RULES)
    shown = await tariff.shipment_charges(shipment_id, RULES.registry.principals["customs-kz"])
    assert shown is not None
    assert shown["booked_quote"] is not None
    assert shown["booked_quote"]["total"] == str(booked.total)
    await engine.dispose()
