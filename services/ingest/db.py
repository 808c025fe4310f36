"""The database of ingest: the bookings it accepted and the ledger of event ids.

- ``ingest_bookings``: one row per shipment, its effective booking. The first booking
  received inserts the row and makes its carrier the **booker**; an amendment replaces the
  booking only when it is posted by the booker or an operator and its ``occurred_at`` is not
  older (the latest ``occurred_at`` wins, as ``corridor.parties.choose_booking`` says), in
  the statement itself, so that two replicas racing cannot break the rule.
- ``ingest_events``: ``(carrier, event_id)`` with a digest of the content, so that an
  ``event_id`` is used once per carrier (``409`` when it comes back with other content).

Every method takes the items of many requests at once (``batching.Coalescer``): one
statement for all of them. SQLite (aiosqlite) locally, PostgreSQL (asyncpg) in production;
the schema is an Alembic migration applied at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import JSON, Boolean, MetaData, String
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from corridor import db
from corridor.parties import BookingFacts, Leg
from services.ingest import hot
from services.ingest.trust import KnownBooking

MIGRATIONS = str(Path(__file__).with_name("migrations"))
CHUNK = 1000  # rows a statement (SQLite and asyncpg bound the number of parameters)
T = TypeVar("T")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={"pk": "pk_%(table_name)s"})


class BookingRow(Base):
    __tablename__ = "ingest_bookings"

    shipment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    booker: Mapped[str] = mapped_column(String(32))  # never changes
    posted_by: Mapped[str] = mapped_column(String(32))  # of the booking that counts
    by_operator: Mapped[bool] = mapped_column(Boolean)
    event_id: Mapped[str] = mapped_column(String(128))
    origin: Mapped[str] = mapped_column(String(16))
    destination: Mapped[str] = mapped_column(String(16))
    booked_at: Mapped[datetime] = mapped_column(db.UtcDateTime)  # its occurred_at
    # When the shipment was first booked: the rules' "booking time" (an amendment, always
    # later, does not move it; ``corridor.parties.choose_booking``).
    first_booked_at: Mapped[datetime] = mapped_column(db.UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(db.UtcDateTime)  # the first booking's
    amended_at: Mapped[datetime] = mapped_column(db.UtcDateTime)
    legs: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    parties: Mapped[dict[str, str]] = mapped_column(JSON)


class EventRow(Base):
    __tablename__ = "ingest_events"

    carrier: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    digest: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime] = mapped_column(db.UtcDateTime)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    carrier: str
    event_id: str
    digest: str
    recorded_at: datetime

    @property
    def key(self) -> tuple[str, str]:
        return (self.carrier, self.event_id)


@dataclass(frozen=True, slots=True)
class BookingRecord:
    """A booking the broker acknowledged, as posted by ``carrier``."""

    shipment_id: str
    carrier: str
    by_operator: bool
    event_id: str
    booked_at: datetime
    recorded_at: datetime
    facts: BookingFacts  # its origin, destination, legs and parties


class SqlStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.postgres = db.is_postgres(engine)
        # SQLite has one writer at a time and makes the others sleep (up to 100 ms a try):
        # this process's writers take turns here instead. PostgreSQL needs no such thing.
        self._writing = contextlib.nullcontext() if self.postgres else asyncio.Lock()
        self._held: dict[str, AsyncConnection] = {}  # a connection per kind of statement
        # SQLite: the hot statements on the loop's thread (``hot``), opened on first use.
        self._sqlite: sqlite3.Connection | None = None

    async def ping(self) -> bool:
        return await db.ping(self.engine)

    def _local(self) -> sqlite3.Connection:
        if self._sqlite is None:
            database = self.engine.url.database
            assert database, "an SQLite database file"
            self._sqlite = hot.sqlite_connect(database)
        return self._sqlite

    async def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        held, self._held = self._held, {}
        for conn in held.values():
            with contextlib.suppress(Exception):
                await conn.close()

    async def _on(self, kind: str, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run ``work`` on the connection held for ``kind`` (opened when missing); a
        connection that failed is dropped, and the next call opens a new one."""
        conn = self._held.get(kind)
        if conn is None or conn.closed:
            conn = self._held[kind] = await self.engine.connect()
        try:
            return await work(conn)
        except BaseException:
            self._held.pop(kind, None)
            with contextlib.suppress(Exception):
                await conn.invalidate()
                await conn.close()
            raise

    async def bookings(self, shipment_ids: list[str]) -> list[KnownBooking | None]:
        """The effective booking of each shipment (``None``: none known), in order."""
        unique = list(dict.fromkeys(shipment_ids))
        if self.postgres:
            rows = await self._on("read", lambda conn: hot.pg_bookings(conn, unique))
        else:
            rows = hot.sqlite_bookings(self._local(), unique)
        found = {row["shipment_id"]: _known(row) for row in rows}
        return [found.get(sid) for sid in shipment_ids]

    async def claim(self, entries: list[LedgerEntry]) -> list[bool]:
        """Record each ``event_id`` not used yet; per entry, whether it may be published:
        new, or used before with the same content (a retry)."""
        first: dict[tuple[str, str], LedgerEntry] = {}
        for entry in entries:
            first.setdefault(entry.key, entry)  # the first of a turn claims it
        digests = {key: entry.digest for key, entry in first.items()}
        fresh = list(first.values())
        if self.postgres:
            known = await self._on("claim", lambda conn: hot.pg_claim(conn, fresh))
        else:
            async with self._writing:
                known = hot.sqlite_claim(self._local(), fresh)
        digests.update(known)
        return [digests[entry.key] == entry.digest for entry in entries]

    async def record_bookings(self, records: list[BookingRecord]) -> list[None]:
        """Insert each shipment's first booking; let later ones by the booker or an
        operator replace it when not older (``hot.SQLITE_UPSERT``)."""
        rows = [_booking_row(r) for r in records]
        if self.postgres:
            await self._on("bookings", lambda conn: hot.pg_upsert(conn, rows))
        else:
            async with self._writing:
                hot.sqlite_upsert(self._local(), rows)
        return [None] * len(records)


def _booking_row(record: BookingRecord) -> tuple[Any, ...]:
    """In ``hot.UPSERT_COLUMNS`` order."""
    facts = record.facts
    legs = [{"carrier": g.carrier, "origin": g.origin, "destination": g.destination}
            for g in facts.legs]  # fmt: skip
    return (
        record.shipment_id,
        record.carrier,  # booker (kept by an amendment)
        record.carrier,  # posted_by
        record.by_operator,
        record.event_id,
        facts.origin,
        facts.destination,
        record.booked_at,
        record.booked_at,  # first_booked_at (kept by an amendment)
        record.recorded_at,
        record.recorded_at,  # amended_at
        json.dumps(legs),
        json.dumps(dict(facts.parties)),
    )


def _moment(value: Any) -> datetime:
    """A stored time as aware UTC (raw SQLite rows hold text, asyncpg rows datetimes)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _known(row: dict[str, Any]) -> KnownBooking:
    facts = BookingFacts(
        booker=row["booker"],
        origin=row["origin"],
        destination=row["destination"],
        booked_at=_moment(row["first_booked_at"]),
        legs=tuple(Leg(**leg) for leg in _json(row["legs"]) or ()),
        parties=dict(_json(row["parties"]) or {}),
    )
    return KnownBooking(facts, row["event_id"], _moment(row["recorded_at"]))
