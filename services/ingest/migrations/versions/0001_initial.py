"""Bookings ingest accepted (the effective booking of each shipment) and the ledger of
event ids (one content per carrier and event_id).

Revision ID: 0001
Revises:
Create Date: 2026-11-28
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
        "ingest_bookings",
        sa.Column("shipment_id", sa.String(64), nullable=False),
        sa.Column("booker", sa.String(32), nullable=False),
        sa.Column("posted_by", sa.String(32), nullable=False),
        sa.Column("by_operator", sa.Boolean(), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("destination", sa.String(16), nullable=False),
        sa.Column("booked_at", UtcDateTime(), nullable=False),
        sa.Column("first_booked_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("amended_at", UtcDateTime(), nullable=False),
        sa.Column("legs", sa.JSON(), nullable=False),
        sa.Column("parties", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("shipment_id", name="pk_ingest_bookings"),
    )
    op.create_table(
        "ingest_events",
        sa.Column("carrier", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("digest", sa.String(32), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("carrier", "event_id", name="pk_ingest_events"),
    )


def downgrade() -> None:
    op.drop_table("ingest_events")
    op.drop_table("ingest_bookings")
