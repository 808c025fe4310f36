"""Revisions of charges: one row per ``(charge_id, revision)``, each with its outbox flag.

The charges of revision 0002 (one per shipment) become revision 1 of their charge, with
their publication flag; their documents gain ``revision`` (1) and ``difference`` (the
total). A new table and a copy, so it runs alike on SQLite (which cannot change a primary
key in place) and PostgreSQL. Downgrading keeps the latest revision of each charge.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from corridor.db import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = ("charge_id", "shipment_id", "card_version", "currency", "total", "document")


def _table(name: str, *extra: sa.ColumnClause[Any]) -> sa.TableClause:
    return sa.table(
        name,
        *(sa.column(c, sa.JSON if c == "document" else sa.String) for c in COLUMNS),
        sa.column("computed_at", UtcDateTime()),
        sa.column("published_at", UtcDateTime()),
        *extra,
    )


def _revisions() -> sa.TableClause:
    return _table("tariff_charge_revisions", sa.column("revision", sa.Integer))


def _charges() -> sa.TableClause:
    return _table("tariff_charges")


def _charge_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("charge_id", sa.String(64), nullable=False),
        sa.Column("shipment_id", sa.String(128), nullable=False),
        sa.Column("card_version", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total", sa.String(32), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("computed_at", UtcDateTime(), nullable=False),
        sa.Column("published_at", UtcDateTime(), nullable=True),
    ]


def _unpublished_index(name: str, table: str) -> None:
    op.create_index(
        name,
        table,
        ["computed_at"],
        postgresql_where=sa.text("published_at IS NULL"),
        sqlite_where=sa.text("published_at IS NULL"),
    )


def upgrade() -> None:
    op.create_table(
        "tariff_charge_revisions",
        *_charge_columns(),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("charge_id", "revision", name="pk_tariff_charge_revisions"),
        sa.UniqueConstraint(
            "shipment_id", "revision", name="uq_tariff_charge_revisions_shipment_id"
        ),
    )
    _unpublished_index("ix_tariff_charge_revisions_unpublished", "tariff_charge_revisions")
    old = _charges()
    rows = [
        {
            **row._asdict(),
            "revision": 1,
            "document": {**row.document, "revision": 1, "difference": row.document["total"]},
        }
        for row in op.get_bind().execute(sa.select(old).order_by(old.c.charge_id))
    ]
    if rows:
        op.bulk_insert(_revisions(), rows)
    op.drop_index("ix_tariff_charges_unpublished", table_name="tariff_charges")
    op.drop_table("tariff_charges")


def downgrade() -> None:
    op.create_table(
        "tariff_charges",
        *_charge_columns(),
        sa.PrimaryKeyConstraint("charge_id", name="pk_tariff_charges"),
        sa.UniqueConstraint("shipment_id", name="uq_tariff_charges_shipment_id"),
    )
    _unpublished_index("ix_tariff_charges_unpublished", "tariff_charges")
    new = _revisions()
    latest: dict[str, dict[str, Any]] = {}
    for row in op.get_bind().execute(sa.select(new).order_by(new.c.charge_id, new.c.revision)):
        values = row._asdict()
        del values["revision"]
        document = dict(values["document"])
        document.pop("revision", None)
        document.pop("difference", None)
        latest[row.charge_id] = {**values, "document": document}
    if latest:
        op.bulk_insert(_charges(), list(latest.values()))
    op.drop_index("ix_tariff_charge_revisions_unpublished", table_name="tariff_charge_revisions")
    op.drop_table("tariff_charge_revisions")
