"""One batch of events, one transaction, and the database kept busy while Python computes.

What the transaction does:
1. insert the events, ``ON CONFLICT DO NOTHING RETURNING``: the new ones are known;
2. for each shipment with new events, take its stored view (from the cache of views this
   process committed, else from the database; none when it is new) and advance it when all
   the new actual events come after what it has folded, else re-fold all its stored events
   (a late event); compute its ETA, delay and silence at the tracker's clock
   (``domain/clock.py``), and when time alone may next change them (``wake_at``);
   serialise it;
3. write the views with version ``n + 1`` where the stored version is still ``n``
   (optimistic concurrency, ``ConcurrentChange`` otherwise), with their derived rows (closed
   sections, segment runs, dwells); count copies; record published versions.

Statements on one connection run one at a time, but they need not wait for Python: they are
queued on a pipeline and run in the background while the views are computed. The insert and
the read of uncached shipments start first; views are computed meanwhile on the likely
assumption that every event is new; once the insert confirms it, the views computed so far
are written in chunks while the next ones are computed. If some events were stored already
(a redelivery), nothing has been written yet: the views are computed again from the new
events only.

A copy of a stored event (same ``(carrier, event_id)``) is harmless when its content is the
same; one that differs (``conflicts.py``) changes nothing and is returned for the consumer
to dead-letter. Copies inside one batch are compared with the first; copies of stored
events with the stored rows (read only when the insert says some events were not new).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from corridor.parties import TrustRules
from services.tracker.domain import (
    Event,
    LateEvent,
    ShipmentView,
    Statistics,
    TrackedShipment,
    advance,
    fold,
)
from services.tracker.domain.clock import ClockRules, clock_state, heard_at
from services.tracker.handlers.conflicts import conflict
from services.tracker.ports import Change, Prepared, StoredShipment, Transaction

T = TypeVar("T")
Conflicts = dict[int, tuple[Event, str]]  # id of the batch's event -> (event, reason)
YIELD_EVERY = 8  # shipments computed between chances for the statements to progress
SAVE_CHUNK = 32  # the fewest shipments per write while computing goes on


@dataclass
class BatchResult:
    applied: list[Event] = field(default_factory=list)
    duplicates: int = 0
    changed: list[tuple[ShipmentView | None, TrackedShipment]] = field(default_factory=list)
    # Acknowledged versions written to the database in this transaction.
    recorded: dict[str, int] = field(default_factory=dict)
    # Copies of known events with different content (the batch's objects) and why.
    conflicting: list[tuple[Event, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class BatchContext:
    rules: TrustRules
    views: Mapping[str, StoredShipment]  # the cache: version, view, heard
    stats: Statistics
    now: datetime
    marks: Mapping[str, int]  # acknowledged versions not yet recorded
    flush_marks: bool  # record all of them now, not only those of changed shipments
    clock: ClockRules = field(default_factory=ClockRules)


class _Pipeline:
    """Statements for one connection, run one after the other in the background."""

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[Any]] = []

    def submit(self, make: Callable[[], Awaitable[T]]) -> asyncio.Task[T]:
        previous = self._tasks[-1] if self._tasks else None

        async def run() -> T:
            if previous is not None:
                await asyncio.wait([previous])
                if previous.cancelled() or previous.exception() is not None:
                    raise _Skipped  # the transaction is failing already
            return await make()

        task = asyncio.ensure_future(run())
        self._tasks.append(task)
        return task

    def idle(self) -> bool:
        """No statement waiting or running (a new one would start at once)."""
        return all(task.done() for task in self._tasks)

    async def drain(self) -> None:
        """Wait for every statement (the connection must be idle before it is released)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def first_error(self) -> BaseException | None:
        for task in self._tasks:
            if task.done() and not task.cancelled():
                error = task.exception()
                if error is not None and not isinstance(error, _Skipped):
                    return error
        return None


class _Skipped(Exception):
    pass


class _Planner:
    """Computes the new views, keeping those not yet handed to a write."""

    def __init__(self, ctx: BatchContext, tx: Transaction) -> None:
        self.ctx = ctx
        self.tx = tx
        self.planned: dict[str, Prepared] = {}
        self.ready: list[Prepared] = []
        self.late: dict[str, StoredShipment] = {}

    def plan(self, shipment_id: str, events: list[Event], stored: StoredShipment | None) -> None:
        if stored is None:
            view = fold(shipment_id, events, self.ctx.rules)
        else:
            try:
                view = advance(stored.view, events, self.ctx.rules)
            except LateEvent:
                self.late[shipment_id] = stored
                return
        self._add(stored, view, events)

    def refold(self, shipment_id: str, events: list[Event]) -> None:
        stored = self.late.pop(shipment_id)
        self._add(stored, fold(shipment_id, events, self.ctx.rules), events)

    def _add(self, stored: StoredShipment | None, view: ShipmentView, events: list[Event]) -> None:
        ctx = self.ctx
        old = None if stored is None else stored.view
        before = None
        if old is not None and old.last_event is not None and stored is not None:
            before = (old.last_event, stored.heard_at or old.last_event.occurred_at)
        heard = heard_at(view.last_event, events, before)
        state = clock_state(view, heard, ctx.rules.topology, ctx.stats, ctx.clock, ctx.now)
        version = 0 if stored is None else stored.version
        tracked = TrackedShipment(
            view,
            state.eta,
            state.delayed,
            version + 1,
            0,
            ctx.now,
            silent=state.silent,
            heard_at=heard,
            wake_at=state.wake_at,
        )
        prepared = self.tx.prepare(old, tracked)
        self.planned[view.shipment_id] = prepared
        self.ready.append(prepared)

    def take(self, copies: Counter[str]) -> list[Change]:
        """The views not yet written, as changes (with their copies and published marks)."""
        ready, self.ready = self.ready, []
        marks = self.ctx.marks
        return [
            Change(p, copies.pop(p.new.shipment_id, 0), marks.get(p.new.shipment_id, 0))
            for p in ready
        ]


def _by_shipment(events: Iterable[Event]) -> dict[str, list[Event]]:
    groups: dict[str, list[Event]] = {}
    for event in events:
        groups.setdefault(event.shipment_id, []).append(event)
    return groups


def _applied_and_copies(
    batch: Sequence[Event], new_keys: set[tuple[str, str]], conflicting: Conflicts
) -> tuple[list[Event], Counter[str]]:
    """The events applied (first copies of new keys) and the other harmless copies per
    shipment (conflicting copies are neither)."""
    pending = set(new_keys)
    applied: list[Event] = []
    copies: Counter[str] = Counter()
    for event in batch:
        if event.key in pending:
            pending.discard(event.key)
            applied.append(event)
        elif not conflicting or id(event) not in conflicting:
            copies[event.shipment_id] += 1
    return applied, copies


async def apply_batch(tx: Transaction, batch: Sequence[Event], ctx: BatchContext) -> BatchResult:
    pipe = _Pipeline()
    try:
        return await _apply(tx, pipe, batch, ctx)
    except _Skipped:
        await pipe.drain()
        raise pipe.first_error() or RuntimeError("a statement was skipped") from None
    finally:
        await pipe.drain()


async def _apply(
    tx: Transaction, pipe: _Pipeline, batch: Sequence[Event], ctx: BatchContext
) -> BatchResult:
    unique: dict[tuple[str, str], Event] = {}
    conflicting: Conflicts = {}
    for event in batch:
        first = unique.setdefault(event.key, event)
        if first is not event:
            why = conflict(first, event)
            if why:
                conflicting[id(event)] = (event, why)
    events = list(unique.values())
    inserted = pipe.submit(partial(tx.insert_events, events, ctx.now))
    groups = _by_shipment(events)
    misses = [i for i in groups if i not in ctx.views]
    reading = pipe.submit(partial(tx.read_shipments, misses))
    # Guess: every event is new. Intra-batch copies are known already.
    applied, copies = _applied_and_copies(batch, set(unique), conflicting)
    planner = _Planner(ctx, tx)
    saves: list[asyncio.Task[dict[str, TrackedShipment]]] = []
    confirmed = False
    for n, shipment_id in enumerate([i for i in groups if i in ctx.views]):
        planner.plan(shipment_id, groups[shipment_id], ctx.views[shipment_id])
        if n % YIELD_EVERY == YIELD_EVERY - 1:
            await asyncio.sleep(0)  # let the statements make progress
            if not confirmed and inserted.done():
                confirmed = len(inserted.result()) == len(unique)
                if not confirmed:
                    break
            if confirmed and len(planner.ready) >= SAVE_CHUNK and pipe.idle():
                saves.append(pipe.submit(partial(tx.save_changes, planner.take(copies))))
    new_keys = await inserted
    if len(new_keys) < len(unique):  # some were stored already: only the new ones count
        assert not saves
        known = await pipe.submit(partial(tx.read_events, [k for k in unique if k not in new_keys]))
        for event in batch:
            stored_event = known.get(event.key)
            why = None if stored_event is None else conflict(stored_event, event)
            if why:
                conflicting[id(event)] = (event, why)
        groups = _by_shipment(e for e in events if e.key in new_keys)
        applied, copies = _applied_and_copies(batch, new_keys, conflicting)
        planner = _Planner(ctx, tx)
        for shipment_id, group in groups.items():
            if shipment_id in ctx.views:
                planner.plan(shipment_id, group, ctx.views[shipment_id])
    stored = await reading
    for shipment_id, group in groups.items():
        if shipment_id not in ctx.views:
            planner.plan(shipment_id, group, stored.get(shipment_id))
    if planner.late:
        loading = pipe.submit(partial(tx.load_events, list(planner.late)))
        for shipment_id, history in (await loading).items():
            planner.refold(shipment_id, history)
    saves.append(pipe.submit(partial(tx.save_changes, planner.take(copies))))
    recorded = {i: v for i, v in ctx.marks.items() if i in planner.planned}
    extra: list[asyncio.Task[None]] = []
    if copies:  # copies of events of shipments that did not change
        extra.append(pipe.submit(partial(tx.add_duplicates, copies)))
    if ctx.flush_marks:
        extra.append(pipe.submit(partial(tx.mark_published, ctx.marks)))
        recorded = dict(ctx.marks)
    saved: dict[str, TrackedShipment] = {}
    for done in await asyncio.gather(*saves):
        saved.update(done)
    await asyncio.gather(*extra)
    return BatchResult(
        applied=applied,
        duplicates=len(batch) - len(applied) - len(conflicting),
        changed=[(p.old, saved[i]) for i, p in planner.planned.items()],
        recorded=recorded,
        conflicting=list(conflicting.values()),
    )
