"""The tracker's use cases: apply batches of events exactly once, publish the changes.

``Tracker.apply`` runs one transaction per batch (``batch.py``), keeps the views it
committed in a cache, and only after the commit observes the metrics and queues the changed
states for publication. A redelivered batch finds every event already stored, so it changes
nothing but the duplicate counts. The state topic is fed at least once: states committed
but not yet acknowledged by the broker are kept in memory and retried with every batch;
acknowledged versions are recorded (``published_version``) with the shipment's next change
or every few seconds; on start-up every shipment whose ``published_version`` is behind its
``version`` is published again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from corridor.clock import utcnow
from corridor.parties import TrustRules
from services.tracker.db import statistics, store
from services.tracker.domain import (
    Classifier,
    Event,
    SetAside,
    Statistics,
    TrackedShipment,
    dwell_kind,
    newly_closed,
)
from services.tracker.domain.clock import ClockRules
from services.tracker.domain.through import newly_delivered
from services.tracker.domain.trust import newly_set_aside
from services.tracker.handlers.batch import BatchContext, BatchResult, apply_batch
from services.tracker.handlers.clock import TickResult, observe_tick, tick_due
from services.tracker.metrics import TrackerMetrics

log = logging.getLogger(__name__)

StatePublish = Callable[[Sequence[TrackedShipment]], Awaitable[list[bool]]]
PUBLISH_CHUNK = 1000
CONCURRENT_ATTEMPTS = 8
CONCURRENT_PAUSE_SECONDS = 0.02  # times the attempt, at random: two rivals fall out of step
MARK_EVERY_SECONDS = 5.0


def is_permanent(exc: BaseException) -> bool:
    """Whether retrying the same records can never succeed because the database refuses
    their data (SQLSTATE classes 22, data exception, and 23, integrity violation). Anything
    else (the database down, or a bug) is retried: consumption stops and readiness fails
    rather than dead-lettering every record."""
    if isinstance(exc, DataError | IntegrityError):
        return True
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None)
        return isinstance(code, str) and code[:2] in ("22", "23")
    return False


class Tracker:
    def __init__(
        self,
        engine: AsyncEngine,
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
        self.engine = engine
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
        # Committed states not yet acknowledged by the broker (latest per shipment), and
        # acknowledged versions not yet recorded in the database.
        self._pending: dict[str, TrackedShipment] = {}
        self._marks: dict[str, int] = {}
        self._marks_flushed = time.monotonic()
        # The last committed view of recently changed shipments, by version: with one
        # consumer per partition the stored view need not be read back (least recently
        # changed first out).
        self._views: OrderedDict[str, store.StoredShipment] = OrderedDict()
        self.view_cache_size = view_cache_size
        self._lock = asyncio.Lock()
        self._publishing = asyncio.Lock()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def statistics(self) -> Statistics:
        now = time.monotonic()
        if self._stats is None or now - self._stats_loaded >= self.stats_refresh_seconds:
            async with self.engine.connect() as conn:
                self._stats = await statistics.load_statistics(
                    conn, self.eta_recent_samples, self.eta_min_samples
                )
            self._stats_loaded = now
        return self._stats

    async def apply(self, batch: Sequence[Event]) -> BatchResult:
        """Apply a batch in one transaction; idempotent (see the module docstring)."""
        async with self._lock:
            for attempt in range(1, CONCURRENT_ATTEMPTS + 1):
                try:
                    result = await self._apply_once(batch)
                    break
                except store.ConcurrentChange as exc:
                    for shipment_id in exc.shipment_ids:
                        self._views.pop(shipment_id, None)
                    if attempt == CONCURRENT_ATTEMPTS:
                        raise
                    log.info("shipments changed concurrently; applying the batch again")
                    await asyncio.sleep(random.uniform(0, CONCURRENT_PAUSE_SECONDS * attempt))
            for _, tracked in result.changed:
                self._pending[tracked.shipment_id] = tracked
                self._remember(tracked)
        self._observe(result)
        return result

    async def _apply_once(self, batch: Sequence[Event]) -> BatchResult:
        ctx = BatchContext(
            rules=self.rules,
            views=self._views,
            stats=await self.statistics(),
            now=self.clock(),
            marks=dict(self._marks),
            flush_marks=time.monotonic() - self._marks_flushed >= MARK_EVERY_SECONDS,
            clock=self.clock_rules,
        )
        async with self.engine.begin() as conn:
            result = await apply_batch(conn, batch, ctx)
        if ctx.flush_marks:
            self._marks_flushed = time.monotonic()
        for shipment_id, version in result.recorded.items():
            if self._marks.get(shipment_id) == version:
                del self._marks[shipment_id]
        return result

    async def tick(self, limit: int) -> TickResult:
        """One round of the clock (``clock.py``): the due shipments whose ETA, delay or
        silence time alone changed are written as their next versions and queued for
        publication like an applied batch's."""
        async with self._lock:
            stats = await self.statistics()
            result = await tick_due(
                self.engine, self.topology, stats, self.clock_rules, self.clock(), limit
            )
            for tracked in result.changed:
                self._pending[tracked.shipment_id] = tracked
                self._remember(tracked)
            for shipment_id in result.skipped:
                self._views.pop(shipment_id, None)
        if self.metrics is not None:
            observe_tick(self.metrics, result)
        return result

    def _remember(self, shipment: TrackedShipment) -> None:
        stored = store.StoredShipment(shipment.version, shipment.view, shipment.heard_at)
        self._views[shipment.shipment_id] = stored
        self._views.move_to_end(shipment.shipment_id)
        while len(self._views) > self.view_cache_size:
            self._views.popitem(last=False)

    def count_dead_letters(self, count: int) -> None:
        if self.metrics is not None and count:
            self.metrics.events.labels("dead_lettered").inc(count)

    def _set_aside(self, result: BatchResult) -> list[SetAside]:
        """Events set aside by this batch (not before), each logged once."""
        found: list[SetAside] = []
        for old, tracked in result.changed:
            for item in newly_set_aside(old, tracked.view):
                found.append(item)
                log.warning(
                    "event set aside",
                    extra={
                        "carrier": item.carrier,
                        "event_id": item.event_id,
                        "shipment_id": tracked.shipment_id,
                        "outcome": item.outcome,
                        "reason": item.reason,
                    },
                )
        return found

    def _observe(self, result: BatchResult) -> None:
        aside = self._set_aside(result)
        metrics = self.metrics
        if metrics is None:
            return
        applied_at = self.clock()
        fresh = 0
        if aside:
            new_keys = {e.key for e in result.applied}
            fresh = sum(1 for item in aside if item.key in new_keys)
            for item in aside:
                metrics.set_aside.labels(item.outcome, item.reason).inc()
        metrics.events.labels("applied").inc(len(result.applied) - fresh)
        metrics.events.labels("set_aside").inc(fresh)
        metrics.events.labels("duplicate").inc(result.duplicates)
        for event in result.applied:
            if event.classifier is Classifier.ACT:
                lag = (applied_at - event.occurred_at).total_seconds()
                metrics.occurred_to_applied.observe(max(0.0, lag))
            if event.recorded_at is not None:
                lag = (applied_at - event.recorded_at).total_seconds()
                metrics.recorded_to_applied.observe(max(0.0, lag))
        for old, tracked in result.changed:
            sections, dwells = newly_closed(old, tracked.view)
            for section in sections:
                metrics.section_transit.labels(section.country).observe(section.transit_seconds)
                metrics.cargo_kilograms.labels(section.country).inc(tracked.view.gross_weight_kg)
                metrics.cargo_teu.labels(section.country).inc(tracked.view.teu)
            for dwell in dwells:
                kind = dwell_kind(dwell.node, self.topology)
                metrics.dwell.labels(dwell.node, kind).observe(dwell.dwell_seconds)
            journey = newly_delivered(old, tracked.view)
            if journey is not None:
                metrics.through_transit.labels(journey.origin_country, journey.destination).observe(
                    journey.seconds
                )

    async def publish_pending(self) -> None:
        """Send the committed states the broker has not acknowledged yet (at least once)."""
        if self.publish is None or not self._pending:
            return
        async with self._publishing:
            await self._publish_pending(self.publish)

    async def _publish_pending(self, publish: StatePublish) -> None:
        waiting = list(self._pending.values())
        for start in range(0, len(waiting), PUBLISH_CHUNK):
            chunk = waiting[start : start + PUBLISH_CHUNK]
            acknowledged = await publish(chunk)
            for shipment, ok in zip(chunk, acknowledged, strict=True):
                if not ok:
                    continue
                if self._pending.get(shipment.shipment_id) is shipment:
                    del self._pending[shipment.shipment_id]
                known = self._marks.get(shipment.shipment_id, 0)
                self._marks[shipment.shipment_id] = max(known, shipment.version)
            if len(acknowledged) and not all(acknowledged):
                log.warning("some shipment states were not acknowledged; they will be retried")
                return

    async def recover(self, limit: int = 100_000) -> int:
        """Queue the states a previous run committed but may not have published."""
        async with self.engine.connect() as conn:
            found = await store.unpublished(conn, limit)
        for shipment in found:
            known = self._pending.get(shipment.shipment_id)
            if known is None or known.version < shipment.version:
                self._pending[shipment.shipment_id] = shipment
        return len(found)

    async def maintain(self) -> None:
        """What an idle consumer would otherwise leave waiting: states not yet published,
        and (every few seconds) acknowledged versions not yet recorded."""
        await self.publish_pending()
        if self._marks and time.monotonic() - self._marks_flushed >= MARK_EVERY_SECONDS:
            await self.flush_marks()

    async def flush_marks(self) -> None:
        """Record the acknowledged versions now instead of with the next batch."""
        async with self._lock:
            marks = dict(self._marks)
            if not marks:
                return
            async with self.engine.begin() as conn:
                await store.mark_published(conn, marks)
            self._marks_flushed = time.monotonic()
            for shipment_id, version in marks.items():
                if self._marks.get(shipment_id) == version:
                    del self._marks[shipment_id]

    async def prune(self, retention: timedelta) -> None:
        async with self.engine.begin() as conn:
            await statistics.prune(conn, self.clock() - retention)
