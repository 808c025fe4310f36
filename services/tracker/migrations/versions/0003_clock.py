"""The clock: what time alone changes about a shipment (``domain/clock.py``).

``silent`` and ``heard_at`` complete the stored state; ``wake_at`` is the next moment the
shipment's ETA, delay or silence may change, with a partial index (only where set: not
delivered) that the clock's tick walks in order. Shipments stored before this revision and
not delivered are due at once: the first tick computes their clock state.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from corridor.db import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs (no table rebuild on SQLite; on PostgreSQL no rewrite either).
    op.add_column(
        "shipments", sa.Column("silent", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("shipments", sa.Column("heard_at", UtcDateTime(), nullable=True))
    op.add_column("shipments", sa.Column("wake_at", UtcDateTime(), nullable=True))
    op.create_index(
        "ix_shipments_wake_at",
        "shipments",
        ["wake_at"],
        postgresql_where=sa.text("wake_at IS NOT NULL"),
        sqlite_where=sa.text("wake_at IS NOT NULL"),
    )
    op.execute(
        "UPDATE shipments SET wake_at = updated_at "
        "WHERE status <> 'DELIVERED' AND state IS NOT NULL AND updated_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_shipments_wake_at", "shipments")
    with op.batch_alter_table("shipments") as batch:
        batch.drop_column("wake_at")
        batch.drop_column("heard_at")
        batch.drop_column("silent")
