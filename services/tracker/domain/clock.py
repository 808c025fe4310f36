"""What time alone changes about a shipment: an aged ETA, a delay, a silence. Pure.

A shipment's clock-derived state (``ClockState``) is a function of its view, when it was
last heard of, the statistics and ``now``. Each of its rules has the form "now has passed
a threshold" (the promised delivery, the expected end of the current step, the silence
deadline), so the next moment the state can change is known in advance: ``wake_at``, the
earliest threshold still ahead (just after it: every rule says *passed*), or, while the
ETA is ageing, the next refresh. The tracker stores it in an indexed column and looks at a
shipment again only then, never at the whole table.

- ETA: ``eta.estimate_arrival(..., now)``; refreshed every ``ClockRules.eta_refresh`` while
  the current step is overdue (between refreshes readers floor it at now).
- delayed: ``eta.is_delayed(..., now)``: now, or the ETA, has passed the promised delivery
  (delivered: delivered after it).
- silent: a shipment that has moved (in transit or held) and was last heard of longer ago
  than ``silent_factor`` times the expected duration of its current step (at least
  ``silent_floor``: hubs have no reference dwell). A new actual event clears it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from corridor.topology import Topology
from services.tracker.domain.eta import Statistics, Step, current_step, is_delayed
from services.tracker.domain.events import Event, LastEvent
from services.tracker.domain.view import ShipmentView, Status, TrackedShipment

MOVED = (Status.IN_TRANSIT, Status.HELD)
# Every rule is "now has passed a threshold": the state changes just after it.
JUST_AFTER = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class ClockRules:
    """``silent_factor`` times the expected step (at least ``silent_floor``) without news
    makes a shipment silent; an overdue ETA is refreshed every ``eta_refresh``."""

    silent_factor: float = 3.0
    silent_floor: timedelta = timedelta(hours=6)
    eta_refresh: timedelta = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class ClockState:
    eta: datetime | None
    delayed: bool
    silent: bool
    wake_at: datetime | None


def heard_at(
    last: LastEvent | None, events: Iterable[Event], previous: tuple[LastEvent, datetime] | None
) -> datetime | None:
    """When the latest actual event ``last`` was heard of: the later of its ``occurred_at``
    and ``recorded_at``. ``events`` are those at hand (the batch, or the whole history);
    ``previous`` is the last event known before and when it was heard of."""
    if last is None:
        return None
    if previous is not None and previous[0] == last:
        return max(previous[1], last.occurred_at)
    for event in events:
        if event.event_id == last.event_id and event.carrier == last.carrier:
            if event.recorded_at is not None:
                return max(event.recorded_at, last.occurred_at)
            break
    return last.occurred_at


def silent_deadline(
    view: ShipmentView, heard: datetime | None, step: Step | None, rules: ClockRules
) -> datetime | None:
    """When a shipment that has moved becomes silent if nothing is heard meanwhile."""
    if view.status not in MOVED:
        return None
    heard = heard or (view.last_event.occurred_at if view.last_event else None)
    if heard is None:
        return None
    expected = timedelta(hours=step.hours if step is not None else 0.0)
    return heard + max(expected * rules.silent_factor, rules.silent_floor)


def clock_state(
    view: ShipmentView,
    heard: datetime | None,
    topology: Topology,
    stats: Statistics,
    rules: ClockRules,
    now: datetime,
) -> ClockState:
    """The ETA, delay and silence of a shipment at ``now``, and when they may next change."""
    step = current_step(view, topology, stats)
    eta = None if step is None else step.eta(now)
    delayed = is_delayed(view, eta, now)
    deadline = silent_deadline(view, heard, step, rules)
    silent = deadline is not None and now > deadline
    thresholds: list[datetime] = []
    promised = view.promised_delivery_at
    if view.status is not Status.DELIVERED and promised is not None and not delayed:
        thresholds.append(promised)
        if step is not None and not step.arrived:  # when the ageing ETA passes the promise
            thresholds.append(promised - timedelta(hours=step.rest_hours))
    if deadline is not None and not silent:
        thresholds.append(deadline)
    wake = [t + JUST_AFTER for t in thresholds if t + JUST_AFTER > now]
    if step is not None and not step.arrived:
        wake.append(now + rules.eta_refresh if step.overdue(now) else step.ends_at + JUST_AFTER)
    return ClockState(eta, delayed, silent, min(wake) if wake else None)


def heard_of(shipment: TrackedShipment) -> datetime | None:
    """When the shipment was last heard of (stored; else its last event's time)."""
    last = shipment.view.last_event
    if last is None:
        return shipment.heard_at
    return max(shipment.heard_at or last.occurred_at, last.occurred_at)


def advance_clock(
    shipment: TrackedShipment,
    topology: Topology,
    stats: Statistics,
    rules: ClockRules,
    now: datetime,
) -> TrackedShipment:
    """The stored shipment as the clock has it at ``now``: the next version (updated now)
    when its ETA, delay or silence changed, else the same version with only ``wake_at``
    moved. The view is never touched."""
    state = clock_state(shipment.view, heard_of(shipment), topology, stats, rules, now)
    if (state.eta, state.delayed, state.silent) == (
        shipment.eta,
        shipment.delayed,
        shipment.silent,
    ):
        return replace(shipment, wake_at=state.wake_at)
    return replace(
        shipment,
        eta=state.eta,
        delayed=state.delayed,
        silent=state.silent,
        wake_at=state.wake_at,
        version=shipment.version + 1,
        updated_at=now,
    )


def shown_eta(shipment: TrackedShipment, now: datetime) -> datetime | None:
    """The ETA as readers see it between refreshes: never before now while the cargo has
    not reached its destination."""
    eta, view = shipment.eta, shipment.view
    if eta is None or view.status is Status.DELIVERED or eta >= now:
        return eta
    arrived = view.current_location == view.destination and not view.departed_from
    return eta if arrived else now
