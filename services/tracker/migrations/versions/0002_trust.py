"""Trust: the events each shipment's fold set aside (held or refused), and each shipment's
access scopes (who may read it).

Shipments stored before this revision get their scopes and set-aside events with their
next change (their views are re-folded then); until then only operators list them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from corridor.db import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "set_aside_events",
        sa.Column("carrier", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("shipment_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(20), nullable=False),
        sa.Column("location", sa.String(16), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=True),
        sa.Column("outcome", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("message", sa.String(300), nullable=False),
        sa.PrimaryKeyConstraint("carrier", "event_id", name="pk_set_aside_events"),
    )
    op.create_index("ix_set_aside_events_shipment_id", "set_aside_events", ["shipment_id"])
    op.create_table(
        "shipment_access",
        sa.Column("shipment_id", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("shipment_id", "scope", name="pk_shipment_access"),
    )
    op.create_index(
        "ix_shipment_access_scope_shipment_id", "shipment_access", ["scope", "shipment_id"]
    )


def downgrade() -> None:
    op.drop_table("shipment_access")
    op.drop_table("set_aside_events")
