"""The tracker's unit of work in memory (``services.tracker.ports``), for fast use-case tests.

It keeps the contract of the SQL adapter (``tests/integration/test_tracker_storage_contract
.py`` runs the same suite on both): events stored once per ``(carrier, event_id)``,
shipments written under optimistic versions, duplicate counts added, published versions
never moving backwards, the rows derived from views (the same ``derived_rows`` rule as the
database) read back as statistics. A transaction works on its own copy and commits by
replaying its writes onto what is committed then; an error in the block discards them.
``refuse`` makes the next write fail as a database refusing the data would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from corridor.parties import TrustRules
from services.tracker.db.derived import KEYS, DerivedRows, derived_rows
from services.tracker.domain import Event, ShipmentView, Statistics, TrackedShipment, medians
from services.tracker.ports import (
    Change,
    ConcurrentChange,
    Key,
    Prepared,
    StorageRefused,
    StoredShipment,
    Transaction,
)


@dataclass
class Shipment:
    tracked: TrackedShipment
    published_version: int = 0


@dataclass
class Data:
    events: dict[Key, Event] = field(default_factory=dict)
    shipments: dict[str, Shipment] = field(default_factory=dict)
    # Derived rows per table name, by the table's key (as ``db/derived.py`` makes them).
    rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = field(
        default_factory=lambda: {table.name: {} for table in KEYS}
    )

    def copy(self) -> Data:
        return Data(
            dict(self.events),
            {i: replace(s) for i, s in self.shipments.items()},
            {name: dict(rows) for name, rows in self.rows.items()},
        )


Write = Callable[[Data], None]


class FakeTransaction:
    def __init__(self, unit: FakeUnitOfWork) -> None:
        self.unit = unit
        self.data = unit.committed.copy()
        self.writes: list[Write] = []

    def _write(self, write: Write) -> None:
        if self.unit.refuse:
            self.unit.refuse = False
            raise StorageRefused("refused (fake)")
        write(self.data)
        self.writes.append(write)

    def prepare(self, old: ShipmentView | None, new: TrackedShipment) -> Prepared:
        return Prepared(old, new, derived_rows([(old, new.view)], self.unit.rules))

    async def insert_events(self, events: Sequence[Event], applied_at: datetime) -> set[Key]:
        new = {e.key for e in events if e.key not in self.data.events}

        def write(data: Data) -> None:
            for event in events:
                data.events.setdefault(event.key, event)

        self._write(write)
        return new

    async def read_shipments(self, ids: Iterable[str]) -> dict[str, StoredShipment]:
        found = {}
        for shipment_id in set(ids):
            row = self.data.shipments.get(shipment_id)
            if row is not None:
                t = row.tracked
                found[shipment_id] = StoredShipment(t.version, t.view, t.heard_at)
        return found

    async def read_events(self, keys: Iterable[Key]) -> dict[Key, Event]:
        return {k: self.data.events[k] for k in set(keys) if k in self.data.events}

    async def load_events(self, ids: Iterable[str]) -> dict[str, list[Event]]:
        wanted = set(ids)
        found: dict[str, list[Event]] = {i: [] for i in wanted}
        for event in self.data.events.values():
            if event.shipment_id in wanted:
                found[event.shipment_id].append(event)
        return found

    def _check_versions(self, shipments: Sequence[TrackedShipment]) -> list[str]:
        """Ids whose stored version (here or committed since) is not the one before."""
        lost = []
        for s in shipments:
            for data in (self.data, self.unit.committed):
                row = data.shipments.get(s.shipment_id)
                if (0 if row is None else row.tracked.version) != s.version - 1:
                    lost.append(s.shipment_id)
                    break
        return lost

    async def save_changes(self, changes: Sequence[Change]) -> dict[str, TrackedShipment]:
        lost = self._check_versions([c.prepared.new for c in changes])
        if lost:
            raise ConcurrentChange(sorted(lost))
        saved: dict[str, TrackedShipment] = {}
        for change in changes:
            row = self.data.shipments.get(change.shipment_id)
            stored = 0 if row is None else row.tracked.duplicates
            saved[change.shipment_id] = replace(
                change.prepared.new, duplicates=stored + change.copies
            )

        def write(data: Data) -> None:
            for change in changes:
                row = data.shipments.get(change.shipment_id)
                published = 0 if row is None else row.published_version
                dups = 0 if row is None else row.tracked.duplicates
                new = replace(change.prepared.new, duplicates=dups + change.copies)
                data.shipments[change.shipment_id] = Shipment(new, max(published, change.published))
                payload = change.prepared.payload
                assert isinstance(payload, DerivedRows), "prepared by another adapter"
                _apply_rows(data, payload)

        self._write(write)
        return saved

    async def add_duplicates(self, counts: Mapping[str, int]) -> None:
        def write(data: Data) -> None:
            for shipment_id, n in counts.items():
                row = data.shipments.get(shipment_id)
                if row is not None:
                    row.tracked = replace(row.tracked, duplicates=row.tracked.duplicates + n)

        self._write(write)

    async def mark_published(self, marks: Mapping[str, int]) -> None:
        def write(data: Data) -> None:
            for shipment_id, version in marks.items():
                row = data.shipments.get(shipment_id)
                if row is not None:
                    row.published_version = max(row.published_version, version)

        self._write(write)

    async def unpublished(self, limit: int) -> list[TrackedShipment]:
        rows = sorted(self.data.shipments.items())
        return [r.tracked for _, r in rows if r.published_version < r.tracked.version][:limit]

    async def due(self, now: datetime, limit: int) -> list[TrackedShipment]:
        due = [
            r.tracked
            for r in self.data.shipments.values()
            if r.tracked.wake_at is not None and r.tracked.wake_at <= now
        ]
        return sorted(due, key=lambda s: (s.wake_at, s.shipment_id))[:limit]

    async def save_clock(self, changed: Sequence[TrackedShipment]) -> set[str]:
        lost = set(self._check_versions(changed))
        written = [s for s in changed if s.shipment_id not in lost]

        def write(data: Data) -> None:
            for s in written:
                row = data.shipments[s.shipment_id]
                row.tracked = replace(
                    row.tracked,
                    eta=s.eta,
                    delayed=s.delayed,
                    silent=s.silent,
                    wake_at=s.wake_at,
                    version=s.version,
                    updated_at=s.updated_at,
                )

        self._write(write)
        return {s.shipment_id for s in written}

    async def move_wake(self, unchanged: Sequence[TrackedShipment]) -> None:
        def write(data: Data) -> None:
            for s in unchanged:
                row = data.shipments.get(s.shipment_id)
                if row is not None and row.tracked.version == s.version:
                    row.tracked = replace(row.tracked, wake_at=s.wake_at)

        self._write(write)

    async def statistics(self, recent: int, min_samples: int) -> Statistics:
        def latest(table: str, key: Callable[[dict[str, Any]], Any], at: str) -> list[Any]:
            groups: dict[Any, list[dict[str, Any]]] = {}
            for row in self.data.rows[table].values():
                groups.setdefault(key(row), []).append(row)
            return [
                (k, row["seconds"] / 3600)
                for k, rows in groups.items()
                for row in sorted(rows, key=lambda r: r[at], reverse=True)[:recent]
            ]

        segments = latest("segment_times", lambda r: (r["origin"], r["destination"]), "arrived_at")
        dwells = latest("node_dwells", lambda r: r["node"], "departed_at")
        return Statistics(
            segment_hours=medians(segments, min_samples),
            dwell_hours=medians(dwells, min_samples),
        )

    async def prune(self, before: datetime) -> None:
        ends = {"section_transits": "exited_at", "segment_times": "arrived_at"}
        ends["node_dwells"] = "departed_at"

        def write(data: Data) -> None:
            for table, end in ends.items():
                rows = data.rows[table]
                for key in [k for k, r in rows.items() if r[end] < before]:
                    del rows[key]

        self._write(write)


def _apply_rows(data: Data, derived: DerivedRows) -> None:
    for table, keys in derived.gone.items():
        for key in keys:
            data.rows[table.name].pop(tuple(key), None)
    for upsert in derived.upserts():
        names = KEYS[upsert.table]
        for row in upsert.rows():
            data.rows[upsert.table.name][tuple(row[n] for n in names)] = row


class FakeStates:
    """Stands in for the broker of ``cargo.shipments.v1``: acknowledges (or, while not
    ``up``, refuses) and remembers what was sent."""

    def __init__(self) -> None:
        self.sent: list[TrackedShipment] = []
        self.up = True

    async def __call__(self, shipments: Sequence[TrackedShipment]) -> list[bool]:
        if not self.up:
            return [False] * len(shipments)
        self.sent += shipments
        return [True] * len(shipments)


class FakeUnitOfWork:
    """``ports.UnitOfWork`` in memory; ``committed`` is what a new transaction sees."""

    def __init__(self, rules: TrustRules) -> None:
        self.rules = rules
        self.committed = Data()
        self.refuse = False  # the next write is refused for good
        self.commits = 0

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[Transaction]:
        tx = FakeTransaction(self)
        yield tx
        for write in tx.writes:
            write(self.committed)
        self.commits += 1
