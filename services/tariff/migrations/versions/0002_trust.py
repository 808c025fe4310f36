"""Trust: every booking claim (the booker's amendments apply by time), the receive time of
movements, and the digest of every event seen (conflicting duplicates).

The bookings of revision 0001 (one per shipment, the first received) become claims of
their carrier, with the details their quote records (no named parties or legs), so every
booked shipment stays readable and chargeable. Movements stored before have no receive
time: the age checks of the trust rules do not apply to them, the party checks do.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from corridor.db import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _bookings() -> sa.TableClause:
    return sa.table(
        "tariff_bookings",
        sa.column("shipment_id", sa.String),
        sa.column("carrier", sa.String),
        sa.column("event_id", sa.String),
        sa.column("booked_at", UtcDateTime()),
        sa.column("card_version", sa.String),
        sa.column("currency", sa.String),
        sa.column("total", sa.String),
        sa.column("quote", sa.JSON),
        sa.column("recorded_at", UtcDateTime()),
    )


def _claims() -> sa.TableClause:
    return sa.table(
        "tariff_booking_claims",
        sa.column("id", sa.BigInteger),
        sa.column("carrier", sa.String),
        sa.column("event_id", sa.String),
        sa.column("shipment_id", sa.String),
        sa.column("occurred_at", UtcDateTime()),
        sa.column("recorded_at", UtcDateTime()),
        sa.column("details", sa.JSON),
        sa.column("quote", sa.JSON),
    )


def _details(quote: dict[str, Any]) -> dict[str, Any]:
    return {
        "origin": quote["origin"],
        "destination": quote["destination"],
        "container_type": quote["container_type"],
        "gross_weight_kg": quote["gross_weight_kg"],
        "parties": {},
        "legs": [],
    }


def upgrade() -> None:
    op.create_table(
        "tariff_booking_claims",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("carrier", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("shipment_id", sa.String(128), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("quote", sa.JSON(none_as_null=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tariff_booking_claims"),
        sa.UniqueConstraint(
            "carrier", "event_id", name="uq_tariff_booking_claims_carrier_event_id"
        ),
    )
    op.create_index(
        "ix_tariff_booking_claims_shipment_id", "tariff_booking_claims", ["shipment_id"]
    )
    op.create_table(
        "tariff_seen_events",
        sa.Column("carrier", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("carrier", "event_id", name="pk_tariff_seen_events"),
    )
    with op.batch_alter_table("tariff_movements") as batch:
        batch.add_column(sa.Column("recorded_at", UtcDateTime(), nullable=True))

    conn = op.get_bind()
    bookings = conn.execute(sa.select(_bookings()).order_by(sa.text("shipment_id"))).all()
    rows = [
        {
            "carrier": b.carrier,
            "event_id": b.event_id,
            "shipment_id": b.shipment_id,
            "occurred_at": b.booked_at,
            "recorded_at": b.recorded_at,
            "details": _details(b.quote),
            "quote": b.quote,
        }
        for b in bookings
    ]
    if rows:
        op.bulk_insert(_claims(), rows)
    op.drop_table("tariff_bookings")


def downgrade() -> None:
    op.create_table(
        "tariff_bookings",
        sa.Column("shipment_id", sa.String(128), nullable=False),
        sa.Column("carrier", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("booked_at", UtcDateTime(), nullable=False),
        sa.Column("card_version", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total", sa.String(32), nullable=False),
        sa.Column("quote", sa.JSON(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("shipment_id", name="pk_tariff_bookings"),
    )
    # Revision 0001 kept the first priced booking received of each shipment.
    conn = op.get_bind()
    claims = conn.execute(
        sa.select(_claims()).order_by(sa.text("recorded_at"), sa.text("id"))
    ).all()
    first: dict[str, Any] = {}
    for claim in claims:
        if claim.quote is not None:
            first.setdefault(claim.shipment_id, claim)
    rows = [
        {
            "shipment_id": c.shipment_id,
            "carrier": c.carrier,
            "event_id": c.event_id,
            "booked_at": c.occurred_at,
            "card_version": c.quote["card_version"],
            "currency": c.quote["currency"],
            "total": c.quote["total"],
            "quote": c.quote,
            "recorded_at": c.recorded_at,
        }
        for c in first.values()
    ]
    if rows:
        op.bulk_insert(_bookings(), rows)
    with op.batch_alter_table("tariff_movements") as batch:
        batch.drop_column("recorded_at")
    op.drop_table("tariff_seen_events")
    op.drop_index("ix_tariff_booking_claims_shipment_id", table_name="tariff_booking_claims")
    op.drop_table("tariff_booking_claims")
