"""The tariff's boundary to its storage: a unit of work holding one repository, as typed
protocols (cosmicpython's pattern, as ``services.tracker.ports``). The use cases
(``handlers``, ``outbox``) know only these; ``db`` implements them with SQLAlchemy (SQLite
and PostgreSQL), and ``tests/fakes/tariff.py`` in memory. One contract suite runs against
all three (``tests/integration/test_tariff_storage_contract.py``).

A unit of work is one transaction: ``async with units() as uow``, the repository's reads
and writes, then ``await uow.commit()``; leaving the block without a commit rolls back.

Errors are the tariff's own, translated by the adapter (no use case looks at a SQLSTATE):
``ConcurrentRevision`` (apply the work again on fresh data), ``StorageRefused`` (the
database refuses this data: retrying the same rows can never succeed) and
``StorageUnavailable`` (anything else: the database down or overloaded; retried).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self, TypedDict

from services.tariff.trust import Claim, StoredMovement

Key = tuple[str, str]  # an event's identity: (carrier, event_id)


class StorageError(Exception):
    """A failure of the tariff's storage, as the adapter translated it."""


class ConcurrentRevision(StorageError):
    """Another transaction stored a revision of these charges meanwhile, or the database
    aborted this one in favour of a concurrent one (deadlock, serialization failure): the
    work is applied again on fresh data (two consumers briefly owning one partition
    during a rebalance)."""


class StorageRefused(StorageError):
    """The database refuses the data (a constraint or a value it cannot hold): applying the
    same rows again can never succeed, so the events at fault are dead-lettered."""


class StorageUnavailable(StorageError):
    """The database cannot do the work now (connection lost, timeout, overload): the
    batch is retried, nothing is dead-lettered."""


class SeenRow(TypedDict):
    """An event's content digest, by its identity."""

    carrier: str
    event_id: str
    digest: str


class FactRow(TypedDict):
    """What every stored fact (a booking claim or a movement) holds."""

    carrier: str
    event_id: str
    shipment_id: str
    occurred_at: datetime
    recorded_at: datetime  # ingest's receive time (or the consumer's, when not given)


class ClaimRow(FactRow):
    """A BOOKED event: its booking details and its quote (``None``: cannot be priced)."""

    details: dict[str, Any]
    quote: dict[str, Any] | None


class MovementRow(FactRow):
    """Any other actual event."""

    event_type: str
    location: str


class ChargeRow(TypedDict):
    """A new revision of a shipment's charge (``bills.Bill.row``)."""

    charge_id: str
    revision: int
    shipment_id: str
    card_version: str
    currency: str
    total: str
    document: dict[str, Any]
    computed_at: datetime
    published_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredCharge:
    charge_id: str
    revision: int
    shipment_id: str
    document: dict[str, Any]
    computed_at: datetime


class TariffRepository(Protocol):
    """The tariff's reads and writes inside one unit of work. Every write ignores a row
    whose natural key is stored already (``(carrier, event_id)``, ``(charge_id,
    revision)``), so redelivered work changes nothing; each call is a constant number of
    statements however many rows it takes."""

    async def record_seen(self, rows: Sequence[SeenRow]) -> set[Key]:
        """Record events' digests; the keys that were new."""
        ...

    async def seen_digests(self, keys: Iterable[Key]) -> dict[Key, str]:
        """The stored digests of these events (those stored)."""
        ...

    async def add_claims(self, rows: Sequence[ClaimRow]) -> None: ...

    async def add_movements(self, rows: Sequence[MovementRow]) -> None: ...

    async def claims_of(self, shipment_ids: Iterable[str]) -> dict[str, list[Claim]]:
        """Every booking claim of these shipments, in the order they were stored (the rows
        of one ``add_claims`` in ``(carrier, event_id)`` order)."""
        ...

    async def movements_of(
        self, shipment_ids: Iterable[str], *, delivered_only: bool = False
    ) -> dict[str, list[StoredMovement]]:
        """Every movement of these shipments (with ``delivered_only``, of those that have a
        ``DELIVERED`` stored); in no particular order (the dwell rule orders them)."""
        ...

    async def latest_charges(self, shipment_ids: Iterable[str]) -> dict[str, StoredCharge]:
        """The latest revision of the charge of each of these shipments that has one."""
        ...

    async def charges(self, shipment_id: str) -> list[StoredCharge]:
        """Every revision of a shipment's charge, in order."""
        ...

    async def add_charges(self, rows: Sequence[ChargeRow]) -> None:
        """Insert new revisions; raises ``ConcurrentRevision`` when one of them was stored
        meanwhile (the unit of work must be rolled back and the work applied again)."""
        ...

    async def awaiting_charge(self, after: str, limit: int) -> list[str]:
        """Shipments with a booking and a DELIVERED but no charge yet, in id order after
        ``after``."""
        ...

    async def unpublished(self, limit: int) -> list[StoredCharge]:
        """Revisions not acknowledged by the broker yet, oldest first (by ``computed_at``,
        ``charge_id``, ``revision``)."""
        ...

    async def mark_published(self, keys: Sequence[tuple[str, int]], at: datetime) -> None:
        """Flag these ``(charge_id, revision)`` as acknowledged (once: the first time)."""
        ...


class UnitOfWork(Protocol):
    """One transaction over the tariff's storage."""

    @property
    def repository(self) -> TariffRepository: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed, and release the connection."""
        ...

    async def commit(self) -> None: ...


# A fresh unit of work per transaction (the composition root binds it to an engine).
UnitsOfWork = Callable[[], UnitOfWork]
