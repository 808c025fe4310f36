"""The tracker's use cases: apply batches of events exactly once, publish the changes.

``Tracker.apply`` runs one transaction per batch (``batch.py``) through the unit of work
(``ports.UnitOfWork``), keeps the views it committed (``views.ViewCache``), and only after
the commit observes the metrics (``observe.py``) and queues the changed states for
publication (``outbox.StateOutbox``: at least once). A redelivered batch finds every event
already stored, so it changes nothing but the duplicate counts.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from corridor.clock import utcnow
from corridor.parties import TrustRules
from services.tracker.domain import Event, Statistics
from services.tracker.domain.clock import ClockRules
from services.tracker.handlers.batch import BatchContext, BatchResult, apply_batch
from services.tracker.handlers.clock import TickResult, observe_tick, tick_due
from services.tracker.handlers.observe import observe_batch, set_aside_by
from services.tracker.handlers.outbox import StateOutbox, StatePublish
from services.tracker.handlers.views import ViewCache
from services.tracker.metrics import TrackerMetrics
from services.tracker.ports import ConcurrentChange, StorageRefused, UnitOfWork

log = logging.getLogger(__name__)

CONCURRENT_ATTEMPTS = 8
CONCURRENT_PAUSE_SECONDS = 0.02  # times the attempt, at random: two rivals fall out of step


def is_permanent(exc: BaseException) -> bool:
    """Whether retrying the same records can never succeed because the storage refuses
    their data. Anything else (the database down, or a bug) is retried: consumption stops
    and readiness fails rather than dead-lettering every record."""
    return isinstance(exc, StorageRefused)


class Tracker:
    def __init__(
        self,
        unit: UnitOfWork,
        rules: TrustRules,
        *,
        metrics: TrackerMetrics | None = None,
        publish: StatePublish | None = None,
        clock: Callable[[], datetime] = utcnow,
        eta_min_samples: int = 5,
        eta_recent_samples: int = 200,
        stats_refresh_seconds: float = 30.0,
        view_cache_size: int = 20_000,
        clock_rules: ClockRules | None = None,
    ) -> None:
        self.unit = unit
        self.rules = rules
        self.topology = rules.topology
        self.metrics = metrics
        self.publish = publish
        self.clock = clock
        self.clock_rules = clock_rules or ClockRules()
        self.eta_min_samples = eta_min_samples
        self.eta_recent_samples = eta_recent_samples
        self.stats_refresh_seconds = stats_refresh_seconds
        self._stats: Statistics | None = None
        self._stats_loaded = 0.0
        self.outbox = StateOutbox()
        self.views = ViewCache(view_cache_size)
        self._lock = asyncio.Lock()
        self._publishing = asyncio.Lock()

    @property
    def pending(self) -> int:
        return len(self.outbox)

    async def statistics(self) -> Statistics:
        now = time.monotonic()
        if self._stats is None or now - self._stats_loaded >= self.stats_refresh_seconds:
            async with self.unit.begin() as tx:
                self._stats = await tx.statistics(self.eta_recent_samples, self.eta_min_samples)
            self._stats_loaded = now
        return self._stats

    async def apply(self, batch: Sequence[Event]) -> BatchResult:
        """Apply a batch in one transaction; idempotent (see the module docstring)."""
        async with self._lock:
            for attempt in range(1, CONCURRENT_ATTEMPTS + 1):
                try:
                    result = await self._apply_once(batch)
                    break
                except ConcurrentChange as exc:
                    self.views.forget(exc.shipment_ids)
                    if attempt == CONCURRENT_ATTEMPTS:
                        raise
                    log.info("shipments changed concurrently; applying the batch again")
                    await asyncio.sleep(random.uniform(0, CONCURRENT_PAUSE_SECONDS * attempt))
            for _, tracked in result.changed:
                self.outbox.queue(tracked)
                self.views.remember(tracked)
        aside = set_aside_by(result)
        if self.metrics is not None:
            observe_batch(self.metrics, self.topology, result, aside, self.clock())
        return result

    async def _apply_once(self, batch: Sequence[Event]) -> BatchResult:
        ctx = BatchContext(
            rules=self.rules,
            views=self.views.views,
            stats=await self.statistics(),
            now=self.clock(),
            marks=self.outbox.marks,
            flush_marks=self.outbox.marks_due(),
            clock=self.clock_rules,
        )
        async with self.unit.begin() as tx:
            result = await apply_batch(tx, batch, ctx)
        self.outbox.recorded(result.recorded, ctx.flush_marks)
        return result

    async def tick(self, limit: int) -> TickResult:
        """One round of the clock (``clock.py``): the due shipments whose ETA, delay or
        silence time alone changed are written as their next versions and queued for
        publication like an applied batch's."""
        async with self._lock:
            stats = await self.statistics()
            result = await tick_due(
                self.unit, self.topology, stats, self.clock_rules, self.clock(), limit
            )
            for tracked in result.changed:
                self.outbox.queue(tracked)
                self.views.remember(tracked)
            self.views.forget(result.skipped)
        if self.metrics is not None:
            observe_tick(self.metrics, result)
        return result

    def count_dead_letters(self, count: int) -> None:
        if self.metrics is not None and count:
            self.metrics.events.labels("dead_lettered").inc(count)

    async def publish_pending(self) -> None:
        """Send the committed states the broker has not acknowledged yet (at least once)."""
        if self.publish is None or not len(self.outbox):
            return
        async with self._publishing:
            await self.outbox.publish(self.publish)

    async def recover(self, limit: int = 100_000) -> int:
        """Queue the states a previous run committed but may not have published."""
        async with self.unit.begin() as tx:
            found = await tx.unpublished(limit)
        self.outbox.requeue(found)
        return len(found)

    async def maintain(self) -> None:
        """What an idle consumer would otherwise leave waiting: states not yet published,
        and (every few seconds) acknowledged versions not yet recorded."""
        await self.publish_pending()
        if self.outbox.marks and self.outbox.marks_due():
            await self.flush_marks()

    async def flush_marks(self) -> None:
        """Record the acknowledged versions now instead of with the next batch."""
        async with self._lock:
            marks = self.outbox.marks
            if not marks:
                return
            async with self.unit.begin() as tx:
                await tx.mark_published(marks)
            self.outbox.recorded(marks, everything=True)

    async def prune(self, retention: timedelta) -> None:
        async with self.unit.begin() as tx:
            await tx.prune(self.clock() - retention)
