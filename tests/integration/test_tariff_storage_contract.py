"""The tariff's storage contract (``services.tariff.ports``), one suite run against the
in-memory fake the handler tests use, SQLite and PostgreSQL: what a unit of work keeps
and drops, what each repository call returns, and the errors the adapter translates."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from corridor import db
from services.tariff.db import MIGRATIONS, sql_units
from services.tariff.ports import (
    ChargeRow,
    ClaimRow,
    ConcurrentRevision,
    MovementRow,
    SeenRow,
    StorageRefused,
    TariffRepository,
    UnitsOfWork,
)
from tests.conftest import unique
from tests.fakes.tariff import MemoryStore

pytestmark = pytest.mark.integration

AT = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
BAKU = timezone(timedelta(hours=4))


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> tuple[str, Callable[[], asyncio.Future[str]] | None]:
    """The backend, and for PostgreSQL the factory of fresh databases (requested here,
    synchronously: see ``tests.conftest._database_factory``)."""
    if request.param == "postgres":
        return request.param, request.getfixturevalue("new_postgres_database")
    return request.param, None


@pytest.fixture
async def units(
    backend: tuple[str, Callable[[], asyncio.Future[str]] | None], tmp_path: Path
) -> AsyncIterator[UnitsOfWork]:
    name, new_database = backend
    if name == "memory":
        yield MemoryStore()
        return
    url = f"sqlite+aiosqlite:///{tmp_path / 'tariff.db'}"
    if new_database is not None:
        url = await new_database()
    engine = db.make_engine(url)
    await db.migrate(engine, MIGRATIONS)
    try:
        yield sql_units(engine)
    finally:
        await engine.dispose()


def claim(shipment_id: str, event_id: str, carrier: str = "mcm", **change: object) -> ClaimRow:
    row = ClaimRow(
        carrier=carrier,
        event_id=event_id,
        shipment_id=shipment_id,
        occurred_at=AT,
        recorded_at=AT + timedelta(minutes=1),
        details={"origin": "CNAKL", "destination": "GEPTI", "legs": []},
        quote={"total": "1234.50", "currency": "USD"},
    )
    row.update(change)  # type: ignore[typeddict-item]
    return row


def movement(shipment_id: str, event_id: str, event_type: str, at: datetime = AT) -> MovementRow:
    return MovementRow(
        carrier="ktz",
        event_id=event_id,
        shipment_id=shipment_id,
        occurred_at=at,
        recorded_at=at,
        event_type=event_type,
        location="KZAAU",
    )


def charge(shipment_id: str, revision: int, computed_at: datetime = AT) -> ChargeRow:
    document = {"charge_id": f"c-{shipment_id}", "revision": revision, "total": "10.00"}
    return ChargeRow(
        charge_id=f"c-{shipment_id}",
        revision=revision,
        shipment_id=shipment_id,
        card_version="2026",
        currency="USD",
        total="10.00",
        document=document,
        computed_at=computed_at,
        published_at=None,
    )


async def committed(units: UnitsOfWork, *rows: ClaimRow | MovementRow | ChargeRow) -> None:
    async with units() as uow:
        repo: TariffRepository = uow.repository
        await repo.add_claims([r for r in rows if "quote" in r])  # type: ignore[misc]
        await repo.add_movements([r for r in rows if "event_type" in r])  # type: ignore[misc]
        await repo.add_charges([r for r in rows if "revision" in r])  # type: ignore[misc]
        await uow.commit()


async def seen(units: UnitsOfWork, event_id: str, digest: str, outcome: str) -> None:
    """Record a digest, then commit, leave, or fail (``outcome``)."""
    async with units() as uow:
        await uow.repository.record_seen([SeenRow(carrier="mcm", event_id=event_id, digest=digest)])
        if outcome == "fail":
            raise RuntimeError("the work failed")
        if outcome == "commit":
            await uow.commit()


async def test_only_what_a_unit_of_work_commits_is_kept(units: UnitsOfWork) -> None:
    kept, dropped = ("mcm", unique("e")), ("mcm", unique("e"))
    await seen(units, kept[1], "a", "commit")
    await seen(units, dropped[1], "b", "leave")
    with pytest.raises(RuntimeError):
        await seen(units, dropped[1], "c", "fail")
    async with units() as uow:
        assert await uow.repository.seen_digests([kept, dropped]) == {kept: "a"}


async def test_an_event_seen_again_is_not_new_and_keeps_its_first_digest(
    units: UnitsOfWork,
) -> None:
    first, second = unique("e"), unique("e")
    async with units() as uow:
        repo = uow.repository
        rows = [SeenRow(carrier="mcm", event_id=e, digest="d1") for e in (first, second)]
        assert await repo.record_seen(rows) == {("mcm", first), ("mcm", second)}
        again = [SeenRow(carrier="mcm", event_id=first, digest="d2")]
        assert await repo.record_seen(again) == set()
        assert await repo.seen_digests([("mcm", first), ("ktz", first)]) == {("mcm", first): "d1"}
        await uow.commit()


async def test_claims_come_back_in_the_order_stored_once_each_in_utc(units: UnitsOfWork) -> None:
    shipment, other = unique("SHP"), unique("SHP")
    unpriced = claim(shipment, unique("e"), carrier="ktz", quote=None)
    amended = claim(shipment, unique("e"), occurred_at=AT.astimezone(BAKU))
    await committed(units, claim(shipment, unique("e")), unpriced, claim(other, unique("e")))
    await committed(units, amended, unpriced)

    async with units() as uow:
        found = await uow.repository.claims_of([shipment, unique("SHP")])
    assert list(found) == [shipment]
    claims = found[shipment]
    # One call's rows are stored in (carrier, event_id) order (no deadlocks between
    # consumers), then the next call's.
    assert [c.carrier for c in claims] == ["ktz", "mcm", "mcm"]
    assert claims[0].event_id == unpriced["event_id"]
    assert claims[0].payload.quote is None
    assert claims[1].payload.quote == {"total": "1234.50", "currency": "USD"}
    assert dict(claims[1].payload.details) == claim(shipment, "e")["details"]
    assert claims[2].event_id == amended["event_id"]
    assert claims[2].occurred_at == AT
    assert claims[2].occurred_at.utcoffset() == timedelta(0)
    assert claims[1].recorded_at == AT + timedelta(minutes=1)


async def test_movements_come_back_once_each_and_delivered_only_keeps_delivered_shipments(
    units: UnitsOfWork,
) -> None:
    delivered, moving = unique("SHP"), unique("SHP")
    arrived = movement(delivered, unique("e"), "ARRIVED")
    done = movement(delivered, unique("e"), "DELIVERED", AT + timedelta(days=3))
    await committed(units, arrived, done, movement(moving, unique("e"), "DEPARTED"))
    await committed(units, arrived)

    async with units() as uow:
        everything = await uow.repository.movements_of([delivered, moving])
        chargeable = await uow.repository.movements_of([delivered, moving], delivered_only=True)
    assert sorted(m.event_type for m in everything[delivered]) == ["ARRIVED", "DELIVERED"]
    assert [m.event_type for m in everything[moving]] == ["DEPARTED"]
    assert list(chargeable) == [delivered]
    [last] = [m for m in chargeable[delivered] if m.event_type == "DELIVERED"]
    assert (last.carrier, last.location, last.event_id) == ("ktz", "KZAAU", done["event_id"])
    assert (last.occurred_at, last.recorded_at) == (done["occurred_at"], done["recorded_at"])


async def test_revisions_come_back_in_order_and_the_latest_per_shipment(
    units: UnitsOfWork,
) -> None:
    shipment, other = unique("SHP"), unique("SHP")
    await committed(units, charge(shipment, 1), charge(other, 1))
    await committed(units, charge(shipment, 2, AT + timedelta(hours=1)))

    async with units() as uow:
        latest = await uow.repository.latest_charges([shipment, other, unique("SHP")])
        history = await uow.repository.charges(shipment)
    assert {s: c.revision for s, c in latest.items()} == {shipment: 2, other: 1}
    assert [c.revision for c in history] == [1, 2]
    assert history[1].document == {"charge_id": f"c-{shipment}", "revision": 2, "total": "10.00"}
    assert history[1].computed_at == AT + timedelta(hours=1)


async def test_a_revision_stored_meanwhile_is_a_concurrent_revision_and_nothing_is_kept(
    units: UnitsOfWork,
) -> None:
    shipment, other = unique("SHP"), unique("SHP")
    await committed(units, charge(shipment, 1))
    with pytest.raises(ConcurrentRevision):
        await committed(units, charge(other, 1), charge(shipment, 1))
    async with units() as uow:
        assert await uow.repository.latest_charges([other]) == {}


async def test_a_value_the_database_refuses_is_storage_refused_and_nothing_is_kept(
    units: UnitsOfWork,
) -> None:
    shipment = unique("SHP")
    broken = claim(shipment, unique("e"), recorded_at=None)  # a column that is NOT NULL
    with pytest.raises(StorageRefused):
        await committed(units, claim(shipment, unique("e")), broken)
    async with units() as uow:
        assert await uow.repository.claims_of([shipment]) == {}


async def test_the_sweep_reads_booked_delivered_uncharged_shipments_in_id_order(
    units: UnitsOfWork,
) -> None:
    prefix = unique("SWEEP")
    a, b, c, charged, unbooked = (f"{prefix}-{n}" for n in "abcde")
    rows: list[ClaimRow | MovementRow | ChargeRow] = []
    for shipment in (a, b, c, charged):
        rows += [claim(shipment, unique("e")), movement(shipment, unique("e"), "DELIVERED")]
    rows += [charge(charged, 1), movement(unbooked, unique("e"), "DELIVERED")]
    rows += [claim(f"{prefix}-f", unique("e"))]  # booked, not delivered
    await committed(units, *rows)

    async with units() as uow:
        repo = uow.repository
        first = [s for s in await repo.awaiting_charge(prefix, 100) if s.startswith(prefix)]
        assert first == [a, b, c]
        assert await repo.awaiting_charge(a, 1) == [b]


async def test_unpublished_revisions_come_oldest_first_until_flagged(units: UnitsOfWork) -> None:
    early, late = unique("SHP"), unique("SHP")
    await committed(units, charge(late, 1, AT + timedelta(days=1)), charge(early, 1, AT))
    await committed(units, charge(early, 2, AT + timedelta(hours=1)))

    async with units() as uow:
        waiting = [
            (c.shipment_id, c.revision)
            for c in await uow.repository.unpublished(1000)
            if c.shipment_id in (early, late)
        ]
        assert waiting == [(early, 1), (early, 2), (late, 1)]
        await uow.repository.mark_published([(f"c-{early}", 1), (f"c-{late}", 1)], AT)
        await uow.commit()
    async with units() as uow:
        left = await uow.repository.unpublished(1000)
    assert [(c.shipment_id, c.revision) for c in left if c.shipment_id in (early, late)] == [
        (early, 2)
    ]


async def test_a_string_longer_than_its_column_is_refused_where_the_database_checks_lengths(
    units: UnitsOfWork, backend: tuple[str, object]
) -> None:
    """PostgreSQL (and the fake, after it) refuse a value too long for ``varchar(16)``;
    SQLite does not check declared lengths and keeps it: the contract (``corridor.
    contract.limits``) keeps every value within its column before it gets here."""
    shipment = unique("SHP")
    far = movement(shipment, unique("e"), "ARRIVED")
    far["location"] = "X" * 17
    if backend[0] == "sqlite":
        await committed(units, far)
        async with units() as uow:
            [kept] = (await uow.repository.movements_of([shipment]))[shipment]
        assert kept.location == "X" * 17
        return
    with pytest.raises(StorageRefused):
        await committed(units, far)
    async with units() as uow:
        assert await uow.repository.movements_of([shipment]) == {}
