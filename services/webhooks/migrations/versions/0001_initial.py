"""Subscriptions, booking claims, latest states, the delivery outbox.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
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
        "webhooks_subscriptions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("principal", sa.String(64), nullable=False),
        sa.Column("callback_url", sa.String(2048), nullable=False),
        sa.Column("secret", sa.String(256), nullable=False),
        sa.Column("previous_secret", sa.String(256), nullable=True),
        sa.Column("previous_secret_until", UtcDateTime(), nullable=True),
        sa.Column("filter", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("secret_rotated_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhooks_subscriptions"),
    )
    op.create_index("ix_webhooks_subscriptions_principal", "webhooks_subscriptions", ["principal"])
    op.create_table(
        "webhooks_booking_claims",
        sa.Column("shipment_id", sa.String(128), nullable=False),
        sa.Column("carrier", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=True),
        sa.Column("booking", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint(
            "shipment_id", "carrier", "event_id", name="pk_webhooks_booking_claims"
        ),
    )
    op.create_table(
        "webhooks_states",
        sa.Column("shipment_id", sa.String(128), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("shipment_id", name="pk_webhooks_states"),
    )
    op.create_table(
        "webhooks_deliveries",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("subscription_id", sa.String(36), nullable=False),
        sa.Column("shipment_id", sa.String(128), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhooks_deliveries"),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["webhooks_subscriptions.id"],
            name="fk_webhooks_deliveries_subscription_id",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "subscription_id",
            "shipment_id",
            "version",
            name="uq_webhooks_deliveries_subscription_id",
        ),
    )
    op.create_index(
        "ix_webhooks_deliveries_due", "webhooks_deliveries", ["status", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_table("webhooks_deliveries")
    op.drop_table("webhooks_states")
    op.drop_table("webhooks_booking_claims")
    op.drop_table("webhooks_subscriptions")
