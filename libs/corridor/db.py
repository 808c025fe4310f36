"""Database plumbing shared by the services that keep state (tracker, tariff).

SQLAlchemy 2 async engines: SQLite (aiosqlite) for local runs, PostgreSQL (asyncpg) in
production. Schema changes are Alembic migrations, applied at start-up under a lock so
several instances can start at once.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import DateTime, MetaData, event, text
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.types import TypeDecorator

from corridor.saturation import watch_engine


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on PostgreSQL (timestamptz) and SQLite (text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQL on SQLite returns the stored text
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite gets WAL, a busy timeout and enforced foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("pool_pre_ping", True)
    engine = create_async_engine(url, **kwargs)
    watch_engine(engine.sync_engine)  # its pool on /metrics (corridor.saturation)
    return engine


# SQLSTATE classes of data the database refuses for good: 22 (data exception) and 23
# (integrity constraint violation). Retrying the same data can never succeed.
REFUSED_CLASSES = ("22", "23")


def sqlstate(exc: DBAPIError) -> str:
    """The SQLSTATE of a driver error ("" when the driver gives none, as SQLite's)."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code if isinstance(code, str) else ""


def refuses_data(exc: BaseException) -> bool:
    """Whether the database refuses the data itself (SQLAlchemy's ``DataError`` and
    ``IntegrityError``, or a SQLSTATE of ``REFUSED_CLASSES``), not an outage or a bug."""
    if isinstance(exc, DataError | IntegrityError):
        return True
    return isinstance(exc, DBAPIError) and sqlstate(exc)[:2] in REFUSED_CLASSES


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


async def ping(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return True


async def migrate(engine: AsyncEngine, script_location: str) -> None:
    """Upgrade the schema to the newest revision of ``script_location``.

    On PostgreSQL a transaction-scoped advisory lock serialises concurrent starters.
    """

    def upgrade(conn: Connection) -> None:
        if conn.dialect.name == "postgresql":
            key = zlib.crc32(script_location.encode()) & 0x7FFFFFFF
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
        config = Config()
        config.set_main_option("script_location", script_location)
        config.attributes["connection"] = conn
        command.upgrade(config, "head")

    async with engine.begin() as conn:
        await conn.run_sync(upgrade)


def run_env(metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py``: migrate on the given connection."""
    conn = context.config.attributes.get("connection")
    if conn is None:
        raise RuntimeError("run migrations through corridor.db.migrate()")
    context.configure(connection=conn, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
