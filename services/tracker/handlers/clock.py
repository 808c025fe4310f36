"""The clock's tick: what time alone changes, for the due shipments only.

Every shipment stores the next moment its ETA, delay or silence may change (``wake_at``,
``domain/clock.py``). A tick reads the shipments due by now (at most ``limit``, earliest
first: a range scan of the index on ``wake_at``), recomputes their clock state with the pure
rules, and in one transaction writes those that changed as their next version (the clock's
columns only, under the batches' optimistic concurrency) and moves the others' ``wake_at``
forward. A shipment a batch changed meanwhile is skipped: the batch computed its clock state
at its own commit. The caller (``Tracker.tick``) queues the changed states for publication
exactly as an applied batch's.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from corridor.topology import Topology
from services.tracker.domain import Statistics, TrackedShipment
from services.tracker.domain.clock import ClockRules, advance_clock
from services.tracker.metrics import TrackerMetrics
from services.tracker.ports import UnitOfWork

CHANGES = ("eta", "delayed", "silent")


@dataclass
class TickResult:
    due: int = 0  # shipments read (due by now)
    limit: int = 0
    changed: list[TrackedShipment] = field(default_factory=list)  # written, next versions
    skipped: list[str] = field(default_factory=list)  # changed by a batch meanwhile
    moved: int = 0  # only their wake time moved
    changes: Counter[str] = field(default_factory=Counter)  # which fields changed
    lag_seconds: float = 0.0  # how long the earliest due shipment had been due

    @property
    def full(self) -> bool:
        """As many due as asked for: more may be waiting."""
        return self.due >= self.limit > 0


def _changes(before: TrackedShipment, after: TrackedShipment) -> list[str]:
    return [name for name in CHANGES if getattr(before, name) != getattr(after, name)]


async def tick_due(
    unit: UnitOfWork,
    topology: Topology,
    stats: Statistics,
    rules: ClockRules,
    now: datetime,
    limit: int,
) -> TickResult:
    result = TickResult(limit=limit)
    async with unit.begin() as tx:
        found = await tx.due(now, limit)
        result.due = len(found)
        if not found:
            return result
        earliest = found[0].wake_at
        if earliest is not None:
            result.lag_seconds = max(0.0, (now - earliest).total_seconds())
        changed: list[tuple[TrackedShipment, TrackedShipment]] = []
        unchanged: list[TrackedShipment] = []
        for shipment in found:
            after = advance_clock(shipment, topology, stats, rules, now)
            if after.version == shipment.version:
                unchanged.append(after)
            else:
                changed.append((shipment, after))
        written = await tx.save_clock([after for _, after in changed])
        await tx.move_wake(unchanged)
    result.moved = len(unchanged)
    for before, after in changed:
        if after.shipment_id in written:
            result.changed.append(after)
            result.changes.update(_changes(before, after))
        else:
            result.skipped.append(after.shipment_id)
    return result


def observe_tick(metrics: TrackerMetrics, result: TickResult) -> None:
    for name, count in result.changes.items():
        metrics.clock_changes.labels(name).inc(count)
    metrics.clock_lag.set(result.lag_seconds)
