"""EPCIS capture jobs: one row per ``POST /epcis/capture``, durable until it finishes.

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
        "ingest_capture_jobs",
        sa.Column("capture_id", sa.String(36), nullable=False),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("behaviour", sa.String(8), nullable=False),
        sa.Column("running", sa.Boolean(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("captured_count", sa.Integer(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("capture_id", name="pk_ingest_capture_jobs"),
    )
    op.create_index("ix_ingest_capture_jobs_running", "ingest_capture_jobs", ["running"])
    op.create_index("ix_ingest_capture_jobs_finished_at", "ingest_capture_jobs", ["finished_at"])


def downgrade() -> None:
    op.drop_index("ix_ingest_capture_jobs_finished_at", "ingest_capture_jobs")
    op.drop_index("ix_ingest_capture_jobs_running", "ingest_capture_jobs")
    op.drop_table("ingest_capture_jobs")
