"""The tracker's boundary to its storage: a unit of work (cosmicpython's pattern).

The use cases (``handlers/``) open a ``Transaction`` with ``UnitOfWork.begin()``: all it
reads and writes commits together when the block ends without error, and nothing does
otherwise. They never see an engine, a connection or a SQLSTATE: the adapter
(``db/unit.py``, SQLAlchemy on SQLite or PostgreSQL) translates what the database refuses
for good into ``StorageRefused``, and a concurrent writer into ``ConcurrentChange``. An
in-memory fake (``tests/fakes/tracker.py``) keeps the same contract
(``tests/integration/test_tracker_storage_contract.py`` runs one suite on all three).

A transaction runs one operation at a time, in the order they are awaited (the batch's
pipeline queues them so that the database works while Python computes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from services.tracker.domain import Event, ShipmentView, Statistics, TrackedShipment

Key = tuple[str, str]  # an event's (carrier, event_id)


class ConcurrentChange(Exception):
    """Another transaction changed these shipments since they were read: retry the batch."""

    def __init__(self, shipment_ids: Sequence[str]) -> None:
        super().__init__(f"changed concurrently: {', '.join(shipment_ids[:5])}")
        self.shipment_ids = list(shipment_ids)


class StorageRefused(Exception):
    """The storage refuses this data for good (a value it cannot hold, a broken
    constraint): retrying the same records can never succeed, unlike an outage."""


@dataclass(frozen=True, slots=True)
class StoredShipment:
    """What a batch needs of a stored shipment: its version, view, and when its latest
    actual event was heard of (the clock's silence)."""

    version: int
    view: ShipmentView
    heard_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A shipment's new state and the view it replaces, made ready for the write ahead of
    it (``payload``: the adapter's own form, such as the serialised view)."""

    old: ShipmentView | None
    new: TrackedShipment
    payload: object = None


@dataclass(frozen=True, slots=True)
class Change:
    """A prepared change, with the copies to count on the shipment and the version known
    to have reached the state topic (0: none)."""

    prepared: Prepared
    copies: int = 0
    published: int = 0

    @property
    def shipment_id(self) -> str:
        return self.prepared.new.shipment_id


class Transaction(Protocol):
    def prepare(self, old: ShipmentView | None, new: TrackedShipment) -> Prepared:
        """Ready a change for ``save_changes`` (pure computation, no I/O)."""
        ...

    async def insert_events(self, events: Sequence[Event], applied_at: datetime) -> set[Key]:
        """Store the events not stored yet; the keys of those that were new."""
        ...

    async def read_shipments(self, ids: Iterable[str]) -> dict[str, StoredShipment]: ...

    async def read_events(self, keys: Iterable[Key]) -> dict[Key, Event]: ...

    async def load_events(self, ids: Iterable[str]) -> dict[str, list[Event]]:
        """Every stored event of these shipments (an empty list for one without)."""
        ...

    async def save_changes(self, changes: Sequence[Change]) -> dict[str, TrackedShipment]:
        """Write version ``n + 1`` of each shipment whose stored version is still ``n`` (a
        new one only where none is stored), with the rows derived from its view; return
        them with their duplicate counts as stored. ``ConcurrentChange`` if any was
        changed meanwhile."""
        ...

    async def add_duplicates(self, counts: Mapping[str, int]) -> None: ...

    async def mark_published(self, marks: Mapping[str, int]) -> None:
        """Record versions that reached the state topic (never moving backwards)."""
        ...

    async def unpublished(self, limit: int) -> list[TrackedShipment]:
        """Shipments whose latest version may not have reached the state topic."""
        ...

    async def due(self, now: datetime, limit: int) -> list[TrackedShipment]:
        """At most ``limit`` shipments whose ``wake_at`` is not after ``now``, earliest
        first, without reading the others."""
        ...

    async def save_clock(self, changed: Sequence[TrackedShipment]) -> set[str]:
        """Write the clock's fields of these next versions (same optimistic rule as
        ``save_changes``); the ids written."""
        ...

    async def move_wake(self, unchanged: Sequence[TrackedShipment]) -> None:
        """Move ``wake_at`` of these shipments, where they are still at their version."""
        ...

    async def statistics(self, recent: int, min_samples: int) -> Statistics:
        """Medians of the ``recent`` latest segment runs and dwells, where enough."""
        ...

    async def prune(self, before: datetime) -> None:
        """Forget the statistics' rows that ended before ``before``."""
        ...


class UnitOfWork(Protocol):
    def begin(self) -> AbstractAsyncContextManager[Transaction]: ...
