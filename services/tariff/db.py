"""Tables and the repository of tariff: every booking claim (with its quote), the
movements that make dwell times, charges with their outbox flag, and the digest of every
event seen (to tell a harmless retry from a conflicting duplicate).

Every write is an insert that ignores a conflict on the natural key, so applying the same
event or charge twice changes nothing: ``(carrier, event_id)`` for events, booking claims
and movements, ``shipment_id`` for charges.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from corridor.db import UtcDateTime

MIGRATIONS = str(Path(__file__).with_name("migrations"))

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _id_column() -> Mapped[int]:
    return mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )


class BookingClaimRow(Base):
    """One BOOKED event as received; which one counts is decided by the trust rules
    (``corridor.parties.choose_booking``) whenever it is needed."""

    __tablename__ = "tariff_booking_claims"
    __table_args__ = (
        UniqueConstraint("carrier", "event_id", name="uq_tariff_booking_claims_carrier_event_id"),
        Index("ix_tariff_booking_claims_shipment_id", "shipment_id"),
    )

    id: Mapped[int] = _id_column()
    carrier: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(128))
    shipment_id: Mapped[str] = mapped_column(String(128))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # origin, destination, container_type, gross_weight_kg, parties, legs
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The quote with the card of its date; null when it cannot be priced.
    quote: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)


class MovementRow(Base):
    __tablename__ = "tariff_movements"
    __table_args__ = (
        UniqueConstraint("carrier", "event_id", name="uq_tariff_movements_carrier_event_id"),
        Index("ix_tariff_movements_shipment_id", "shipment_id"),
    )

    id: Mapped[int] = _id_column()
    carrier: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(128))
    shipment_id: Mapped[str] = mapped_column(String(128))
    event_type: Mapped[str] = mapped_column(String(32))
    location: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Ingest's receive time; null for movements stored before revision 0002.
    recorded_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class SeenEventRow(Base):
    """The content digest of every event applied, by its identity."""

    __tablename__ = "tariff_seen_events"

    carrier: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))


class ChargeRow(Base):
    __tablename__ = "tariff_charges"

    charge_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    shipment_id: Mapped[str] = mapped_column(String(128), unique=True)
    card_version: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[str] = mapped_column(String(32))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The outbox flag: set once the broker acknowledged the Charge record.
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


Index(
    "ix_tariff_charges_unpublished",
    ChargeRow.computed_at,
    postgresql_where=ChargeRow.published_at.is_(None),
    sqlite_where=ChargeRow.published_at.is_(None),
)


class Repository:
    """Reads and idempotent writes inside one session (the caller's transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _insert_ignoring(self, row: type[Base], values: dict[str, Any], *keys: str) -> bool:
        """Insert unless a row with the same ``keys`` exists; True when inserted."""
        dialect = self.session.get_bind().dialect.name
        module = postgresql if dialect == "postgresql" else sqlite
        statement = module.insert(row).values(**values).on_conflict_do_nothing(index_elements=keys)
        result = await self.session.execute(statement)
        return bool(getattr(result, "rowcount", 0))

    async def seen(self, carrier: str, event_id: str, digest: str) -> str | None:
        """Record an event's digest; the digest stored before if it was seen already."""
        values = {"carrier": carrier, "event_id": event_id, "digest": digest}
        if await self._insert_ignoring(SeenEventRow, values, "carrier", "event_id"):
            return None
        row = await self.session.get(SeenEventRow, (carrier, event_id))
        return None if row is None else row.digest

    async def add_claim(self, values: dict[str, Any]) -> bool:
        return await self._insert_ignoring(BookingClaimRow, values, "carrier", "event_id")

    async def add_movement(self, values: dict[str, Any]) -> bool:
        return await self._insert_ignoring(MovementRow, values, "carrier", "event_id")

    async def add_charge(self, values: dict[str, Any]) -> bool:
        return await self._insert_ignoring(ChargeRow, values, "shipment_id")

    async def claims(self, shipment_id: str) -> list[BookingClaimRow]:
        rows = await self.session.scalars(
            select(BookingClaimRow)
            .where(BookingClaimRow.shipment_id == shipment_id)
            .order_by(BookingClaimRow.id)
        )
        return list(rows)

    async def movements(self, shipment_id: str) -> list[MovementRow]:
        rows = await self.session.scalars(
            select(MovementRow)
            .where(MovementRow.shipment_id == shipment_id)
            .order_by(MovementRow.occurred_at, MovementRow.id)
        )
        return list(rows)

    async def charge(self, shipment_id: str) -> ChargeRow | None:
        return await self.session.scalar(
            select(ChargeRow).where(ChargeRow.shipment_id == shipment_id)
        )

    async def awaiting_charge(self, after: str, limit: int) -> list[str]:
        """Shipments with a booking and a DELIVERED but no charge yet, in id order after
        ``after`` (for the start-up sweep; whether the DELIVERED counts is judged then)."""
        delivered = select(MovementRow.shipment_id).where(MovementRow.event_type == "DELIVERED")
        charged = select(ChargeRow.shipment_id)
        rows = await self.session.scalars(
            select(BookingClaimRow.shipment_id)
            .distinct()
            .where(BookingClaimRow.shipment_id > after)
            .where(BookingClaimRow.shipment_id.in_(delivered))
            .where(BookingClaimRow.shipment_id.not_in(charged))
            .order_by(BookingClaimRow.shipment_id)
            .limit(limit)
        )
        return list(rows)

    async def unpublished(self, limit: int) -> list[ChargeRow]:
        rows = await self.session.scalars(
            select(ChargeRow)
            .where(ChargeRow.published_at.is_(None))
            .order_by(ChargeRow.computed_at, ChargeRow.charge_id)
            .limit(limit)
        )
        return list(rows)

    async def mark_published(self, charge_ids: list[str], at: datetime) -> None:
        if charge_ids:
            await self.session.execute(
                update(ChargeRow)
                .where(ChargeRow.charge_id.in_(charge_ids))
                .where(ChargeRow.published_at.is_(None))
                .values(published_at=at)
            )
