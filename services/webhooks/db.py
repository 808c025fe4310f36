"""Tables of the webhooks service: subscriptions, the booking claims and latest state of
each shipment (to decide who may read it), and the outbox of deliveries.

A delivery is a row, written in the same transaction as the consumed state that caused it
and unique on ``(subscription_id, shipment_id, version)``: a redelivered state writes
nothing new, and a restart loses nothing (the sender resumes from the rows).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from corridor.db import UtcDateTime

MIGRATIONS = str(Path(__file__).with_name("migrations"))

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
}

PENDING = "pending"
DELIVERED = "delivered"
GIVEN_UP = "given_up"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class SubscriptionRow(Base):
    __tablename__ = "webhooks_subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    principal: Mapped[str] = mapped_column(String(64), index=True)
    callback_url: Mapped[str] = mapped_column(String(2048))
    # HMAC needs the secret itself, so it is stored (never shown); see docs/webhooks.md.
    secret: Mapped[str] = mapped_column(String(256))
    previous_secret: Mapped[str | None] = mapped_column(String(256))
    previous_secret_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    filter: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class BookingClaimRow(Base):
    """Every actual booking seen on cargo.events.v1 (``corridor.parties.choose_booking``
    picks the one that counts)."""

    __tablename__ = "webhooks_booking_claims"

    shipment_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    carrier: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    booking: Mapped[dict[str, Any]] = mapped_column(JSON)


class StateRow(Base):
    """The latest state of each shipment (protobuf bytes), for a booking that arrives after
    it: who may read the shipment then gets its current state."""

    __tablename__ = "webhooks_states"

    shipment_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[bytes] = mapped_column(LargeBinary)


class DeliveryRow(Base):
    __tablename__ = "webhooks_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "shipment_id", "version"),
        Index("ix_webhooks_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(
        ForeignKey("webhooks_subscriptions.id", ondelete="CASCADE")
    )
    shipment_id: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(BigInteger)
    # The raw JSON body, fixed when written: every attempt sends the same bytes.
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # When it may next be tried; while one sender holds it, the end of that sender's lease.
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
