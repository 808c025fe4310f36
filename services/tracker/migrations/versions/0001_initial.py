"""Events (the idempotency key), shipments (the folded views), closed sections, segment
runs and dwells (the KPIs and ETA medians).

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
        "events",
        sa.Column("carrier", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("shipment_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(20), nullable=False),
        sa.Column("classifier", sa.String(3), nullable=False),
        sa.Column("rank", sa.SmallInteger(), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=True),
        sa.Column("applied_at", UtcDateTime(), nullable=False),
        sa.Column("location", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("container_no", sa.String(32), nullable=False),
        sa.Column("wagon_no", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("booking", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("carrier", "event_id", name="pk_events"),
    )
    op.create_index("ix_events_shipment_id_occurred_at", "events", ["shipment_id", "occurred_at"])

    op.create_table(
        "shipments",
        sa.Column("shipment_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(12), nullable=False, server_default="BOOKED"),
        sa.Column("container_no", sa.String(32), nullable=False, server_default=""),
        sa.Column("wagon_no", sa.String(32), nullable=False, server_default=""),
        sa.Column("origin", sa.String(16), nullable=False, server_default=""),
        sa.Column("destination", sa.String(16), nullable=False, server_default=""),
        sa.Column("current_location", sa.String(16), nullable=False, server_default=""),
        sa.Column("eta", UtcDateTime(), nullable=True),
        sa.Column("delayed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("events_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("duplicates", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("published_version", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("updated_at", UtcDateTime(), nullable=True),
        sa.Column("state", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("shipment_id", name="pk_shipments"),
        postgresql_with={"fillfactor": 70},  # room for HOT updates (see tables.py)
    )
    op.create_index("ix_shipments_container_no", "shipments", ["container_no"])
    op.create_index("ix_shipments_wagon_no", "shipments", ["wagon_no"])

    op.create_table(
        "section_transits",
        sa.Column("shipment_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.SmallInteger(), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("entered_at", UtcDateTime(), nullable=False),
        sa.Column("exited_at", UtcDateTime(), nullable=False),
        sa.Column("transit_seconds", sa.BigInteger(), nullable=False),
        sa.Column("kilograms", sa.Float(), nullable=False),
        sa.Column("teu", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("shipment_id", "seq", name="pk_section_transits"),
    )
    op.create_index("ix_section_transits_exited_at", "section_transits", ["exited_at"])

    op.create_table(
        "segment_times",
        sa.Column("shipment_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.SmallInteger(), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("destination", sa.String(16), nullable=False),
        sa.Column("departed_at", UtcDateTime(), nullable=False),
        sa.Column("arrived_at", UtcDateTime(), nullable=False),
        sa.Column("seconds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("shipment_id", "seq", name="pk_segment_times"),
    )
    op.create_index(
        "ix_segment_times_origin_destination_arrived_at",
        "segment_times",
        ["origin", "destination", "arrived_at"],
    )

    op.create_table(
        "node_dwells",
        sa.Column("shipment_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.SmallInteger(), nullable=False),
        sa.Column("node", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(6), nullable=False),
        sa.Column("arrived_at", UtcDateTime(), nullable=False),
        sa.Column("departed_at", UtcDateTime(), nullable=False),
        sa.Column("seconds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("shipment_id", "seq", name="pk_node_dwells"),
    )
    op.create_index("ix_node_dwells_node_departed_at", "node_dwells", ["node", "departed_at"])


def downgrade() -> None:
    for table in ("node_dwells", "segment_times", "section_transits", "shipments", "events"):
        op.drop_table(table)
