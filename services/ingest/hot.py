"""The statements every event runs (a ledger claim; a booking look-up on a cache miss),
as plain SQL on the database driver under a connection the store holds: no statement
compilation, no pool check-out and its ping. On PostgreSQL (asyncpg) each is one round
trip with arrays (``unnest``) whatever the row count; on SQLite (aiosqlite) one call to its
thread. Each statement is atomic on its own: a claim inserts the new keys and then reads
the digests of the keys that were there already (digests never change).

On SQLite (the local run: a file on this machine) the statements run on the event loop's
own thread, through the standard library's ``sqlite3``: a few dozen rows take tens of
microseconds, less than handing them to a worker thread and back (with the lock the two
threads would pass between them). The store keeps writers in turn, so a statement here
never waits for another writer of this process.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

if TYPE_CHECKING:
    from services.ingest.db import LedgerEntry

CHUNK = 1000  # rows a SQLite statement (it bounds the number of parameters)
BOOKING_COLUMNS = (
    "shipment_id", "booker", "event_id", "origin", "destination", "first_booked_at",
    "recorded_at", "legs", "parties",
)  # fmt: skip
_COLUMNS = ", ".join(BOOKING_COLUMNS)
PG_LOOKUP = f"SELECT {_COLUMNS} FROM ingest_bookings WHERE shipment_id = ANY($1::text[])"
PG_CLAIM = (
    "INSERT INTO ingest_events (carrier, event_id, digest, recorded_at) "
    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[]) "
    "ON CONFLICT DO NOTHING RETURNING carrier, event_id"
)
PG_DIGESTS = (
    "SELECT e.carrier, e.event_id, e.digest FROM ingest_events e "
    "JOIN unnest($1::text[], $2::text[]) AS k(carrier, event_id) USING (carrier, event_id)"
)


@cache
def _sqlite_lookup(n: int) -> str:
    return f"SELECT {_COLUMNS} FROM ingest_bookings WHERE shipment_id IN ({','.join('?' * n)})"


@cache
def _sqlite_claim(n: int) -> str:
    rows = ",".join(["(?,?,?,?)"] * n)
    return (
        f"INSERT INTO ingest_events (carrier, event_id, digest, recorded_at) VALUES {rows} "
        "ON CONFLICT DO NOTHING RETURNING carrier, event_id"
    )


# One key a query: SQLite answers a row-value ``IN (VALUES ...)`` with a full scan.
SQLITE_DIGEST = "SELECT digest FROM ingest_events WHERE carrier = ? AND event_id = ?"


def _sqlite_time(moment: datetime) -> str:
    """As ``corridor.db.UtcDateTime`` stores it on SQLite: naive UTC text, always with its
    microseconds (so that stored times compare as text)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


# Insert each shipment's first booking; a later one replaces it only when posted by the
# booker or an operator and not older (the latest ``occurred_at`` wins), in the statement
# itself, so that two replicas racing cannot break the rule. Rows in order, one at a time.
UPSERT_COLUMNS = (
    "shipment_id", "booker", "posted_by", "by_operator", "event_id", "origin", "destination",
    "booked_at", "first_booked_at", "recorded_at", "amended_at", "legs", "parties",
)  # fmt: skip
_AMENDED = ("posted_by", "by_operator", "event_id", "origin", "destination", "booked_at",
            "amended_at", "legs", "parties")  # fmt: skip
_UPSERT_TAIL = (
    " ON CONFLICT (shipment_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _AMENDED)
    + " WHERE excluded.booked_at >= ingest_bookings.booked_at"
    " AND (excluded.posted_by = ingest_bookings.booker OR excluded.by_operator)"
)
SQLITE_UPSERT = (
    f"INSERT INTO ingest_bookings ({', '.join(UPSERT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(UPSERT_COLUMNS))})" + _UPSERT_TAIL
)
_PG_TYPES = ("", "", "", "::boolean", "", "", "", "::timestamptz", "::timestamptz",
             "::timestamptz", "::timestamptz", "::json", "::json")  # fmt: skip
PG_UPSERT = (
    f"INSERT INTO ingest_bookings ({', '.join(UPSERT_COLUMNS)}) VALUES ("
    + ", ".join(f"${n}{t}" for n, t in enumerate(_PG_TYPES, start=1))
    + ")"
    + _UPSERT_TAIL
)


def sqlite_upsert(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    """``rows`` in ``UPSERT_COLUMNS`` order, times aware, legs and parties as JSON text."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(
            SQLITE_UPSERT,
            [tuple(_sqlite_time(v) if isinstance(v, datetime) else v for v in row) for row in rows],
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


async def pg_upsert(conn: AsyncConnection, rows: list[tuple[Any, ...]]) -> None:
    driver = await _driver(conn)
    async with driver.transaction():
        await driver.executemany(PG_UPSERT, rows)


async def _driver(conn: AsyncConnection) -> Any:
    """The asyncpg or aiosqlite connection under ``conn``."""
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def pg_bookings(conn: AsyncConnection, shipment_ids: list[str]) -> list[dict[str, Any]]:
    driver = await _driver(conn)
    return [dict(r) for r in await driver.fetch(PG_LOOKUP, shipment_ids)]


def sqlite_connect(path: str) -> sqlite3.Connection:
    """A connection in autocommit mode (each statement its own transaction), WAL."""
    conn = sqlite3.connect(path, timeout=5, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def sqlite_bookings(conn: sqlite3.Connection, shipment_ids: list[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for start in range(0, len(shipment_ids), CHUNK):
        chunk = shipment_ids[start : start + CHUNK]
        found = conn.execute(_sqlite_lookup(len(chunk)), chunk).fetchall()
        rows += [dict(zip(BOOKING_COLUMNS, r, strict=True)) for r in found]
    return rows


async def pg_claim(conn: AsyncConnection, fresh: list[LedgerEntry]) -> dict[tuple[str, str], str]:
    """Insert the new keys; the stored digest of every key that was there already."""
    driver = await _driver(conn)
    rows = await driver.fetch(
        PG_CLAIM,
        [e.carrier for e in fresh],
        [e.event_id for e in fresh],
        [e.digest for e in fresh],
        [e.recorded_at for e in fresh],
    )
    inserted = {(r["carrier"], r["event_id"]) for r in rows}
    known = [e for e in fresh if e.key not in inserted]
    if not known:
        return {}
    found = await driver.fetch(PG_DIGESTS, [e.carrier for e in known], [e.event_id for e in known])
    return {(r["carrier"], r["event_id"]): r["digest"] for r in found}


def sqlite_claim(conn: sqlite3.Connection, fresh: list[LedgerEntry]) -> dict[tuple[str, str], str]:
    digests: dict[tuple[str, str], str] = {}
    for start in range(0, len(fresh), CHUNK):
        chunk = fresh[start : start + CHUNK]
        params: list[Any] = []
        for e in chunk:
            params += (e.carrier, e.event_id, e.digest, _sqlite_time(e.recorded_at))
        rows = conn.execute(_sqlite_claim(len(chunk)), params).fetchall()
        inserted = {(carrier, event_id) for carrier, event_id in rows}
        known = [e for e in chunk if e.key not in inserted]
        for e in known:
            row = conn.execute(SQLITE_DIGEST, e.key).fetchone()
            if row is not None:
                digests[e.key] = row[0]
    return digests
