"""Shared fixtures: a real embedded broker, real SQLite and PostgreSQL databases.

Integration tests use unique topics, groups and ids per test instead of cleaning up.
PostgreSQL is used when reachable at ``CORRIDOR_TEST_POSTGRES_URL`` (default: the local
server); with ``CORRIDOR_REQUIRE_POSTGRES=1`` (CI) an unreachable server fails the tests
instead of skipping them.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from corridor import db
from corridor.devstack import EmbeddedBroker, free_port
from corridor.settings import KafkaSettings

# Services default to production (which refuses the demo keys); the tests are a local run.
for _service in ("INGEST", "TRACKER", "TARIFF"):
    os.environ.setdefault(f"{_service}_ENVIRONMENT", "local")

POSTGRES_URL = os.environ.get(
    "CORRIDOR_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_POSTGRES = os.environ.get("CORRIDOR_REQUIRE_POSTGRES") == "1"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    """One embedded Tansu broker for the whole session, on a free loopback port."""
    b = EmbeddedBroker(free_port())
    b.start_and_wait()
    try:
        yield b
    finally:
        b.stop()


@pytest.fixture
def kafka_settings(broker: EmbeddedBroker) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=broker.bootstrap_servers, topic_partitions=3, publish_timeout_seconds=5
    )


async def _postgres_reachable() -> bool:
    engine = create_async_engine(POSTGRES_URL)
    try:
        async with asyncio.timeout(5), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
async def postgres_server() -> str:
    """The admin URL of a reachable PostgreSQL; skip (or fail in CI) otherwise."""
    if not await _postgres_reachable():
        message = f"PostgreSQL not reachable at {POSTGRES_URL}"
        if REQUIRE_POSTGRES:
            pytest.fail(message + " (CORRIDOR_REQUIRE_POSTGRES=1)")
        pytest.skip(message)
    return POSTGRES_URL


@pytest.fixture(scope="session")
async def new_postgres_database(
    postgres_server: str,
) -> AsyncIterator[Callable[[], asyncio.Future[str]]]:
    """A factory of fresh PostgreSQL databases, all dropped at the end of the session."""
    created: list[str] = []
    admin = create_async_engine(postgres_server, isolation_level="AUTOCOMMIT")

    async def create() -> str:
        name = "corridor_test_" + uuid.uuid4().hex[:12]
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(postgres_server).set(database=name).render_as_string(hide_password=False)

    yield create  # type: ignore[misc]
    async with admin.connect() as conn:
        for name in created:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def _database_factory(request: pytest.FixtureRequest) -> Callable[[], asyncio.Future[str]] | None:
    """The backend of ``database_url``. Synchronous on purpose: pytest-asyncio cannot set
    up an async fixture requested dynamically from inside a running event loop."""
    if request.param == "sqlite":
        return None
    factory: Callable[[], asyncio.Future[str]] = request.getfixturevalue("new_postgres_database")
    return factory


@pytest.fixture
async def database_url(
    _database_factory: Callable[[], asyncio.Future[str]] | None,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    """A fresh, empty database: SQLite always, PostgreSQL when reachable."""
    if _database_factory is None:
        path = tmp_path_factory.mktemp("db") / "test.db"
        return f"sqlite+aiosqlite:///{path}"
    return str(await _database_factory())


@pytest.fixture
async def tracker_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A fresh database (``database_url``) migrated to the tracker's schema."""
    from services.tracker.app import MIGRATIONS  # the service only for the tests that use it

    engine = db.make_engine(database_url)
    await db.migrate(engine, MIGRATIONS)
    try:
        yield engine
    finally:
        await engine.dispose()
