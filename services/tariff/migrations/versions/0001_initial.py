"""Bookings with their quote, movements for dwell times, charges with an outbox flag.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from corridor.db import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
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
    op.create_table(
        "tariff_movements",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("carrier", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("shipment_id", sa.String(128), nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("location", sa.String(16), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tariff_movements"),
        sa.UniqueConstraint("carrier", "event_id", name="uq_tariff_movements_carrier_event_id"),
    )
    op.create_index("ix_tariff_movements_shipment_id", "tariff_movements", ["shipment_id"])
    op.create_table(
        "tariff_charges",
        sa.Column("charge_id", sa.String(64), nullable=False),
        sa.Column("shipment_id", sa.String(128), nullable=False),
        sa.Column("card_version", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total", sa.String(32), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("computed_at", UtcDateTime(), nullable=False),
        sa.Column("published_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("charge_id", name="pk_tariff_charges"),
        sa.UniqueConstraint("shipment_id", name="uq_tariff_charges_shipment_id"),
    )
    op.create_index(
        "ix_tariff_charges_unpublished",
        "tariff_charges",
        ["computed_at"],
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_tariff_charges_unpublished", table_name="tariff_charges")
    op.drop_table("tariff_charges")
    op.drop_index("ix_tariff_movements_shipment_id", table_name="tariff_movements")
    op.drop_table("tariff_movements")
    op.drop_table("tariff_bookings")
