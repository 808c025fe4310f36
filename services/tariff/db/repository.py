"""The tariff's repository on SQLAlchemy (``ports.TariffRepository``): reads and writes
inside the session of a unit of work (``unit_of_work``), set-based as the tracker's store:
a batch costs a constant number of statements, however many events and shipments it holds.
Rows go in as multi-row ``INSERT ... ON CONFLICT DO NOTHING`` (with ``RETURNING`` where
the caller must learn what was new; one array per column on PostgreSQL, ``arrays``); reads
take the touched shipments' ids as ``IN`` lists, in chunks of ``CHUNK`` (a consumer batch
is at most 500 records, so one chunk). Driver errors leave as the tariff's own
(``errors.translated``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, Result, Table, Text, bindparam, cast, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from corridor.bulk import Upsert, columns_of, upsert
from corridor.parties import BookingClaim
from services.tariff.db.errors import translated
from services.tariff.db.tables import BookingClaimRow, ChargeRow, MovementRow, SeenEventRow
from services.tariff.ports import ChargeRow as NewCharge
from services.tariff.ports import (
    ClaimRow,
    ConcurrentRevision,
    Key,
    SeenRow,
    StoredCharge,
)
from services.tariff.ports import (
    MovementRow as NewMovement,
)
from services.tariff.trust import Claim, ClaimBody, StoredMovement

CHUNK = 500

claims_table: Table = BookingClaimRow.__table__  # type: ignore[assignment]
movements_table: Table = MovementRow.__table__  # type: ignore[assignment]
seen_table: Table = SeenEventRow.__table__  # type: ignore[assignment]
charges_table: Table = ChargeRow.__table__  # type: ignore[assignment]


def _chunks(values: Iterable[Any]) -> list[list[Any]]:
    ordered = sorted(set(values))
    return [ordered[i : i + CHUNK] for i in range(0, len(ordered), CHUNK)]


def _charge_of(row: Any) -> StoredCharge:
    return StoredCharge(row.charge_id, row.revision, row.shipment_id, row.document, row.computed_at)


class SqlRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _execute(self, statement: Executable, parameters: Any = None) -> Result[Any]:
        with translated():
            return await self.session.execute(statement, parameters)

    async def _insert_ignoring(
        self,
        table: Table,
        rows: Sequence[Mapping[str, Any]],
        keys: tuple[str, ...],
        returning: tuple[str, ...] = (),
    ) -> list[Any]:
        """Insert ``rows`` (in key order: no deadlocks between consumers) unless a row with
        the same ``keys`` exists; the ``returning`` columns of the rows inserted."""
        if not rows:
            return []
        ordered = sorted(rows, key=lambda r: tuple(r[k] for k in keys))
        insert = Upsert(table, columns_of(ordered), keys, returning=returning)
        with translated():
            return await upsert(await self.session.connection(), insert)

    async def record_seen(self, rows: Sequence[SeenRow]) -> set[Key]:
        """Record events' digests (``carrier``, ``event_id``, ``digest``); the keys that
        were new."""
        inserted = await self._insert_ignoring(
            seen_table, rows, ("carrier", "event_id"), ("carrier", "event_id")
        )
        return {(r.carrier, r.event_id) for r in inserted}

    async def seen_digests(self, keys: Iterable[Key]) -> dict[Key, str]:
        """The stored digests of these events. Two plain INs walk the primary key (a
        row-value IN scans it on SQLite); the few extra pairs they match are dropped."""
        found: dict[Key, str] = {}
        for chunk in _chunks(keys):
            wanted = set(chunk)
            query = select(seen_table).where(
                seen_table.c.carrier.in_({c for c, _ in chunk}),
                seen_table.c.event_id.in_({e for _, e in chunk}),
            )
            for row in await self._execute(query):
                if (row.carrier, row.event_id) in wanted:
                    found[(row.carrier, row.event_id)] = row.digest
        return found

    async def add_claims(self, rows: Sequence[ClaimRow]) -> None:
        await self._insert_ignoring(claims_table, rows, ("carrier", "event_id"))

    async def add_movements(self, rows: Sequence[NewMovement]) -> None:
        await self._insert_ignoring(movements_table, rows, ("carrier", "event_id"))

    async def claims_of(self, shipment_ids: Iterable[str]) -> dict[str, list[Claim]]:
        """Every booking claim of these shipments, in the order they were stored."""
        found: dict[str, list[Claim]] = {}
        for chunk in _chunks(shipment_ids):
            t = claims_table
            query = select(
                t.c.id,
                t.c.shipment_id,
                t.c.carrier,
                t.c.event_id,
                t.c.occurred_at,
                t.c.recorded_at,
                t.c.details,
                cast(t.c.quote, Text).label("quote"),  # parsed only where needed
            ).where(t.c.shipment_id.in_(chunk))
            # Sorted here: ORDER BY id would let the planner walk the whole primary key.
            for r in sorted(await self._execute(query), key=lambda r: r.id):
                claim: Claim = BookingClaim(
                    r.carrier,
                    r.event_id,
                    r.occurred_at,
                    r.recorded_at,
                    ClaimBody(r.details, r.quote),
                )
                found.setdefault(r.shipment_id, []).append(claim)
        return found

    async def movements_of(
        self, shipment_ids: Iterable[str], *, delivered_only: bool = False
    ) -> dict[str, list[StoredMovement]]:
        """Every movement of these shipments; with ``delivered_only``, of those among them
        that have a ``DELIVERED`` stored (the only ones that can be charged: the others'
        movements need not cross the wire)."""
        found: dict[str, list[StoredMovement]] = {}
        t = movements_table
        for chunk in _chunks(shipment_ids):
            query = select(
                t.c.shipment_id,
                t.c.carrier,
                t.c.event_id,
                t.c.event_type,
                t.c.location,
                t.c.occurred_at,
                t.c.recorded_at,
            ).where(t.c.shipment_id.in_(chunk))
            if delivered_only:
                delivered = movements_table.alias("delivered")
                query = query.where(
                    t.c.shipment_id.in_(
                        select(delivered.c.shipment_id).where(
                            delivered.c.shipment_id.in_(chunk),
                            delivered.c.event_type == "DELIVERED",
                        )
                    )
                )
            for r in await self._execute(query):
                found.setdefault(r.shipment_id, []).append(
                    StoredMovement(
                        r.carrier,
                        r.event_type,
                        r.location,
                        r.occurred_at,
                        r.recorded_at,
                        r.event_id,
                    )
                )
        return found

    async def latest_charges(self, shipment_ids: Iterable[str]) -> dict[str, StoredCharge]:
        """The latest revision of the charge of each of these shipments that has one."""
        t = charges_table
        newer = charges_table.alias("newer")
        latest = (
            select(func.max(newer.c.revision))
            .where(newer.c.shipment_id == t.c.shipment_id)
            .scalar_subquery()
        )
        found: dict[str, StoredCharge] = {}
        for chunk in _chunks(shipment_ids):
            query = select(t).where(t.c.shipment_id.in_(chunk), t.c.revision == latest)
            for row in await self._execute(query):
                found[row.shipment_id] = _charge_of(row)
        return found

    async def charges(self, shipment_id: str) -> list[StoredCharge]:
        """Every revision of a shipment's charge, in order."""
        query = (
            select(charges_table)
            .where(charges_table.c.shipment_id == shipment_id)
            .order_by(charges_table.c.revision)
        )
        return [_charge_of(row) for row in await self._execute(query)]

    async def add_charges(self, rows: Sequence[NewCharge]) -> None:
        """Insert new revisions; raises ``ConcurrentRevision`` when one was stored meanwhile
        (its transaction must be rolled back and the batch applied again)."""
        inserted = await self._insert_ignoring(
            charges_table, rows, ("charge_id", "revision"), ("charge_id", "revision")
        )
        if len(inserted) < len(rows):
            raise ConcurrentRevision(f"{len(rows) - len(inserted)} revision(s) stored meanwhile")

    async def awaiting_charge(self, after: str, limit: int) -> list[str]:
        """Shipments with a booking and a DELIVERED but no charge yet, in id order after
        ``after`` (for the start-up sweep; whether the DELIVERED counts is judged then)."""
        delivered = select(movements_table.c.shipment_id).where(
            movements_table.c.event_type == "DELIVERED"
        )
        charged = select(charges_table.c.shipment_id)
        rows = await self._execute(
            select(claims_table.c.shipment_id)
            .distinct()
            .where(claims_table.c.shipment_id > after)
            .where(claims_table.c.shipment_id.in_(delivered))
            .where(claims_table.c.shipment_id.not_in(charged))
            .order_by(claims_table.c.shipment_id)
            .limit(limit)
        )
        return list(rows.scalars())

    async def unpublished(self, limit: int) -> list[StoredCharge]:
        """Revisions not acknowledged by the broker yet, each shipment's in order."""
        t = charges_table
        rows = await self._execute(
            select(t)
            .where(t.c.published_at.is_(None))
            .order_by(t.c.computed_at, t.c.charge_id, t.c.revision)
            .limit(limit)
        )
        return [_charge_of(row) for row in rows]

    async def mark_published(self, keys: Sequence[tuple[str, int]], at: datetime) -> None:
        """Flag these ``(charge_id, revision)`` as acknowledged."""
        if not keys:
            return
        t = charges_table
        statement = (
            update(t)
            .where(t.c.charge_id == bindparam("b_id"))
            .where(t.c.revision == bindparam("b_revision"))
            .where(t.c.published_at.is_(None))
            .values(published_at=at)
        )
        await self._execute(statement, [{"b_id": c, "b_revision": r} for c, r in sorted(keys)])
