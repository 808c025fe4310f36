"""Tables of tariff: every booking claim (with its quote), the movements that make dwell
times, every revision of every charge with its outbox flag, and the digest of every event
seen (to tell a harmless retry from a conflicting duplicate).

Every write is an insert that ignores a conflict on the natural key, so applying the same
event or charge twice changes nothing: ``(carrier, event_id)`` for events, booking claims
and movements, ``(charge_id, revision)`` for charges.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, MetaData, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from corridor.db import UtcDateTime

MIGRATIONS = str(Path(__file__).parent.with_name("migrations"))

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
    """Every actual event other than a booking (the dwell rule needs to see an event at
    another node to drop an arrival whose departure was never reported)."""

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
    """One revision of a shipment's charge (1 for the first): a later fact that changes the
    charge adds the next revision under the same ``charge_id``; none is ever changed but
    for its outbox flag."""

    __tablename__ = "tariff_charge_revisions"
    __table_args__ = (
        UniqueConstraint("shipment_id", "revision", name="uq_tariff_charge_revisions_shipment_id"),
    )

    charge_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    shipment_id: Mapped[str] = mapped_column(String(128))
    card_version: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[str] = mapped_column(String(32))
    # documents.charge_doc with its revision and difference: what GET and the topic show.
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The outbox flag: set once the broker acknowledged this revision's Charge record.
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


Index(
    "ix_tariff_charge_revisions_unpublished",
    ChargeRow.computed_at,
    postgresql_where=ChargeRow.published_at.is_(None),
    sqlite_where=ChargeRow.published_at.is_(None),
)
