"""The tracker's unit of work on SQLAlchemy (SQLite or PostgreSQL): ``ports.UnitOfWork``.

One ``begin()`` is one database transaction on one connection. What the database refuses
for good (SQLSTATE classes 22, data exception, and 23, integrity violation) leaves as
``StorageRefused``; anything else (the database down, a bug) as it came, to be retried.
The serialised views are remembered across transactions (``viewcodec.ViewEncoder``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from corridor.db import refuses_data
from corridor.parties import TrustRules
from services.tracker.db import clock, statistics, store
from services.tracker.db.viewcodec import ViewEncoder
from services.tracker.domain import Event, ShipmentView, Statistics, TrackedShipment
from services.tracker.ports import (
    Change,
    Key,
    Prepared,
    StorageRefused,
    StoredShipment,
    Transaction,
)


class SqlTransaction:
    """``ports.Transaction`` on one connection inside its transaction."""

    def __init__(self, conn: AsyncConnection, rules: TrustRules, encoder: ViewEncoder) -> None:
        self.conn = conn
        self.rules = rules
        self.encoder = encoder

    def prepare(self, old: ShipmentView | None, new: TrackedShipment) -> Prepared:
        return store.prepare(old, new, self.rules, self.encoder)

    async def insert_events(self, events: Sequence[Event], applied_at: datetime) -> set[Key]:
        return await store.insert_events(self.conn, events, applied_at)

    async def read_shipments(self, ids: Iterable[str]) -> dict[str, StoredShipment]:
        return await store.read_shipments(self.conn, ids)

    async def read_events(self, keys: Iterable[Key]) -> dict[Key, Event]:
        return await store.read_events(self.conn, keys)

    async def load_events(self, ids: Iterable[str]) -> dict[str, list[Event]]:
        return await store.load_events(self.conn, ids)

    async def save_changes(self, changes: Sequence[Change]) -> dict[str, TrackedShipment]:
        return await store.save_changes(self.conn, changes)

    async def add_duplicates(self, counts: Mapping[str, int]) -> None:
        await store.add_duplicates(self.conn, counts)

    async def mark_published(self, marks: Mapping[str, int]) -> None:
        await store.mark_published(self.conn, marks)

    async def unpublished(self, limit: int) -> list[TrackedShipment]:
        return await store.unpublished(self.conn, limit)

    async def due(self, now: datetime, limit: int) -> list[TrackedShipment]:
        return await clock.due(self.conn, now, limit)

    async def save_clock(self, changed: Sequence[TrackedShipment]) -> set[str]:
        return await clock.save_clock(self.conn, changed)

    async def move_wake(self, unchanged: Sequence[TrackedShipment]) -> None:
        await clock.move_wake(self.conn, unchanged)

    async def statistics(self, recent: int, min_samples: int) -> Statistics:
        return await statistics.load_statistics(self.conn, recent, min_samples)

    async def prune(self, before: datetime) -> None:
        await statistics.prune(self.conn, before)


class SqlUnitOfWork:
    """``ports.UnitOfWork`` on an engine."""

    def __init__(self, engine: AsyncEngine, rules: TrustRules, view_cache_size: int = 20_000):
        self.engine = engine
        self.rules = rules
        self.encoder = ViewEncoder(view_cache_size)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Transaction]:
        try:
            async with self.engine.begin() as conn:
                yield SqlTransaction(conn, self.rules, self.encoder)
        except Exception as exc:
            if refuses_data(exc):
                raise StorageRefused(str(exc)[:1000]) from exc
            raise
