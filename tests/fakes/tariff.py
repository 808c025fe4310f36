"""The tariff's storage in memory (``services.tariff.ports``), for the handler unit tests
and the storage contract suite (which holds it to what SQLite and PostgreSQL do).

A unit of work works on a copy of the committed state and replaces it on ``commit``
(transactions are serial: a test drives one at a time). Values go through JSON as they do
through the database's JSON columns, times come back in UTC, and rows are checked against
the tables' declared columns as PostgreSQL checks them (not null, ``varchar(n)``), so the
fake refuses what the database refuses (``StorageRefused``). ``fail`` queues errors to
raise on a repository method's next calls (a concurrent revision, an outage; ``None``
lets a call through).
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Self, cast

from sqlalchemy import String, Table

from corridor.parties import BookingClaim
from services.tariff.db.tables import BookingClaimRow, ChargeRow, MovementRow, SeenEventRow
from services.tariff.ports import ChargeRow as NewCharge
from services.tariff.ports import (
    ClaimRow,
    ConcurrentRevision,
    Key,
    SeenRow,
    StorageRefused,
    StoredCharge,
)
from services.tariff.ports import MovementRow as NewMovement
from services.tariff.trust import Claim, ClaimBody, StoredMovement


def _json(value: Any) -> Any:
    return None if value is None else json.loads(json.dumps(value))


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def _check(table: Any, row: Mapping[str, Any]) -> None:
    """Refuse what PostgreSQL refuses: a null in a not-null column, a string too long."""
    columns: Table = table.__table__
    for column in columns.c:
        if column.autoincrement is True and column.primary_key:
            continue
        value = row.get(column.name)
        if value is None and not column.nullable:
            raise StorageRefused(f"null value in column {column.name!r} of {columns.name}")
        length = column.type.length if isinstance(column.type, String) else None
        if length and isinstance(value, str) and len(value) > length:
            raise StorageRefused(f"value too long for {columns.name}.{column.name}")


@dataclass(frozen=True)
class _Charge:
    stored: StoredCharge
    published_at: datetime | None


@dataclass
class State:
    """The committed rows, by natural key (claims and movements in insertion order)."""

    seen: dict[Key, str] = field(default_factory=dict)
    claims: dict[Key, ClaimRow] = field(default_factory=dict)
    movements: dict[Key, NewMovement] = field(default_factory=dict)
    charges: dict[tuple[str, int], _Charge] = field(default_factory=dict)

    def copy(self) -> State:
        return State(dict(self.seen), dict(self.claims), dict(self.movements), dict(self.charges))


class MemoryStore:
    def __init__(self) -> None:
        self.state = State()
        self.commits = 0
        self.faults: dict[str, deque[Exception | None]] = defaultdict(deque)

    def fail(self, method: str, *errors: Exception | None) -> None:
        """Raise ``errors`` on the next calls of the repository's ``method``, in order
        (``None``: that call goes through)."""
        self.faults[method].extend(errors)

    def __call__(self) -> MemoryUnitOfWork:
        """A unit of work (the store is the tariff's ``UnitsOfWork``)."""
        return MemoryUnitOfWork(self)


class MemoryUnitOfWork:
    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.repository: MemoryRepository  # set on entering

    async def __aenter__(self) -> Self:
        self.repository = MemoryRepository(self.store.state.copy(), self.store)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        del self.repository  # what was not committed is dropped

    async def commit(self) -> None:
        self.store.state = self.repository.state
        self.store.commits += 1


class MemoryRepository:
    def __init__(self, state: State, store: MemoryStore) -> None:
        self.state = state
        self.store = store

    def _fault(self, method: str) -> None:
        if self.store.faults[method]:
            error = self.store.faults[method].popleft()
            if error is not None:
                raise error

    async def record_seen(self, rows: Sequence[SeenRow]) -> set[Key]:
        self._fault("record_seen")
        for row in rows:
            _check(SeenEventRow, row)
        new: set[Key] = set()
        for row in rows:
            key = (row["carrier"], row["event_id"])
            if key not in self.state.seen:
                self.state.seen[key] = row["digest"]
                new.add(key)
        return new

    async def seen_digests(self, keys: Iterable[Key]) -> dict[Key, str]:
        self._fault("seen_digests")
        return {k: self.state.seen[k] for k in keys if k in self.state.seen}

    async def add_claims(self, rows: Sequence[ClaimRow]) -> None:
        self._fault("add_claims")
        for row in rows:
            _check(BookingClaimRow, row)
        for row in sorted(rows, key=_key):  # in key order, as the database stores them
            key = _key(row)
            self.state.claims.setdefault(key, cast(ClaimRow, _json_row(row)))

    async def add_movements(self, rows: Sequence[NewMovement]) -> None:
        self._fault("add_movements")
        for row in rows:
            _check(MovementRow, row)
        for row in sorted(rows, key=_key):
            key = _key(row)
            self.state.movements.setdefault(key, cast(NewMovement, _json_row(row)))

    async def claims_of(self, shipment_ids: Iterable[str]) -> dict[str, list[Claim]]:
        self._fault("claims_of")
        wanted = set(shipment_ids)
        found: dict[str, list[Claim]] = {}
        for row in self.state.claims.values():
            if row["shipment_id"] in wanted:
                quote = None if row["quote"] is None else json.dumps(row["quote"])
                claim: Claim = BookingClaim(
                    row["carrier"],
                    row["event_id"],
                    row["occurred_at"],
                    row["recorded_at"],
                    ClaimBody(_json(row["details"]), quote),
                )
                found.setdefault(row["shipment_id"], []).append(claim)
        return found

    async def movements_of(
        self, shipment_ids: Iterable[str], *, delivered_only: bool = False
    ) -> dict[str, list[StoredMovement]]:
        self._fault("movements_of")
        wanted = set(shipment_ids)
        if delivered_only:
            wanted &= self._delivered()
        found: dict[str, list[StoredMovement]] = {}
        for row in self.state.movements.values():
            if row["shipment_id"] in wanted:
                found.setdefault(row["shipment_id"], []).append(
                    StoredMovement(
                        row["carrier"],
                        row["event_type"],
                        row["location"],
                        row["occurred_at"],
                        row["recorded_at"],
                        row["event_id"],
                    )
                )
        return found

    def _delivered(self) -> set[str]:
        return {
            r["shipment_id"]
            for r in self.state.movements.values()
            if r["event_type"] == "DELIVERED"
        }

    async def latest_charges(self, shipment_ids: Iterable[str]) -> dict[str, StoredCharge]:
        self._fault("latest_charges")
        wanted = set(shipment_ids)
        found: dict[str, StoredCharge] = {}
        for charge in self.state.charges.values():
            stored = charge.stored
            if stored.shipment_id in wanted:
                known = found.get(stored.shipment_id)
                if known is None or known.revision < stored.revision:
                    found[stored.shipment_id] = stored
        return found

    async def charges(self, shipment_id: str) -> list[StoredCharge]:
        self._fault("charges")
        mine = [
            c.stored for c in self.state.charges.values() if c.stored.shipment_id == shipment_id
        ]
        return sorted(mine, key=lambda c: c.revision)

    async def add_charges(self, rows: Sequence[NewCharge]) -> None:
        self._fault("add_charges")
        for row in rows:
            _check(ChargeRow, row)
        taken = {(c.stored.shipment_id, c.stored.revision) for c in self.state.charges.values()}
        conflicts = 0
        for row in sorted(rows, key=lambda r: (r["charge_id"], r["revision"])):
            key = (row["charge_id"], row["revision"])
            if key in self.state.charges:
                conflicts += 1
                continue
            if (row["shipment_id"], row["revision"]) in taken:
                raise StorageRefused(f"revision {row['revision']} of {row['shipment_id']} exists")
            taken.add((row["shipment_id"], row["revision"]))
            stored = StoredCharge(
                row["charge_id"],
                row["revision"],
                row["shipment_id"],
                _json(row["document"]),
                row["computed_at"].astimezone(UTC),
            )
            self.state.charges[key] = _Charge(stored, _utc(row["published_at"]))
        if conflicts:
            raise ConcurrentRevision(f"{conflicts} revision(s) stored meanwhile")

    async def awaiting_charge(self, after: str, limit: int) -> list[str]:
        self._fault("awaiting_charge")
        charged = {c.stored.shipment_id for c in self.state.charges.values()}
        booked = {r["shipment_id"] for r in self.state.claims.values()}
        waiting = {s for s in booked & self._delivered() if s > after and s not in charged}
        return sorted(waiting)[:limit]

    async def unpublished(self, limit: int) -> list[StoredCharge]:
        self._fault("unpublished")
        waiting = [c.stored for c in self.state.charges.values() if c.published_at is None]
        waiting.sort(key=lambda c: (c.computed_at, c.charge_id, c.revision))
        return waiting[:limit]

    async def mark_published(self, keys: Sequence[tuple[str, int]], at: datetime) -> None:
        self._fault("mark_published")
        for key in keys:
            charge = self.state.charges.get(key)
            if charge is not None and charge.published_at is None:
                self.state.charges[key] = replace(charge, published_at=at.astimezone(UTC))


def _key(row: Mapping[str, Any]) -> Key:
    return (row["carrier"], row["event_id"])


def _json_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as the database gives it back: documents through JSON, times in UTC."""
    return {
        k: _utc(v) if isinstance(v, datetime) else _json(v) if isinstance(v, dict) else v
        for k, v in row.items()
    }
