"""The tracker's use cases on the in-memory unit of work (``tests/fakes/tracker.py``):
batches, redelivery, late events, rivals, publication and the clock, each in milliseconds.
The same rules against SQLite and PostgreSQL: tests/integration/test_tracker_store.py."""

from __future__ import annotations

from datetime import datetime, timedelta

from corridor.journeys import JourneyOptions
from services.tracker.consumer import EventsHandler
from services.tracker.domain import Event, Status, TrackedShipment, fold
from services.tracker.handlers import Tracker
from tests.fakes.tracker import FakeStates, FakeUnitOfWork
from tests.unit.test_tracker_samples import RULES, START, TOPOLOGY, cargo_event, journey
from tests.unit.test_tracker_samples import domain_event as event_of


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def tracker_on(
    unit: FakeUnitOfWork, states: FakeStates | None = None, clock: Clock | None = None
) -> Tracker:
    return Tracker(
        unit,
        RULES,
        publish=states,
        clock=clock or Clock(START + timedelta(days=1)),
        stats_refresh_seconds=0,
    )


def events_of(seed: int, shipment_id: str, **options: object) -> list[Event]:
    posts = journey(seed, shipment_id, START, JourneyOptions(**options))  # type: ignore[arg-type]
    return [event_of(p) for p in posts]


def stored(unit: FakeUnitOfWork, shipment_id: str) -> TrackedShipment:
    return unit.committed.shipments[shipment_id].tracked


async def test_a_journey_in_batches_is_the_fold_of_its_events_in_one_commit_each() -> None:
    unit = FakeUnitOfWork(RULES)
    events = events_of(11, "U-1")
    tracker = tracker_on(unit)
    for start in range(0, len(events), 4):
        await tracker.apply(events[start : start + 4])
    shipment = stored(unit, "U-1")
    assert shipment.view == fold("U-1", events, RULES)
    assert shipment.view.status is Status.DELIVERED
    assert shipment.version == len(range(0, len(events), 4))
    assert unit.commits == 2 * shipment.version  # each batch: its statistics, its writes


async def test_a_redelivered_batch_changes_nothing_but_the_duplicate_count() -> None:
    unit = FakeUnitOfWork(RULES)
    batch = events_of(12, "U-2")[:8]
    tracker = tracker_on(unit)
    assert len((await tracker.apply(batch)).applied) == 8
    again = await tracker.apply(batch)
    assert (again.applied, again.changed, again.duplicates) == ([], [], 8)
    shipment = stored(unit, "U-2")
    assert (shipment.version, shipment.duplicates) == (1, 8)


async def test_a_late_event_is_folded_in_its_place() -> None:
    unit = FakeUnitOfWork(RULES)
    events = events_of(13, "U-3")
    tracker = tracker_on(unit)
    await tracker.apply(events[:5])
    await tracker.apply(events[6:])
    await tracker.apply([events[5]])
    assert stored(unit, "U-3").view == fold("U-3", events, RULES)


async def test_a_rival_that_wrote_meanwhile_makes_the_batch_run_again_on_fresh_data() -> None:
    """Two consumers briefly own one partition (a rebalance): each one's cached view goes
    stale when the other writes; the loser's write is refused and retried, nothing lost."""
    unit = FakeUnitOfWork(RULES)
    events = events_of(14, "U-4")
    one, other = tracker_on(unit), tracker_on(unit)
    await one.apply(events[:4])
    await other.apply(events[4:8])  # reads the view one wrote; one's cache is now stale
    await one.apply(events[8:])
    shipment = stored(unit, "U-4")
    assert shipment.view == fold("U-4", events, RULES)
    assert shipment.version == 3


async def test_states_reach_the_topic_at_least_once_and_their_versions_are_recorded() -> None:
    unit = FakeUnitOfWork(RULES)
    states = FakeStates()
    states.up = False
    crashed = tracker_on(unit, states)
    await crashed.apply(events_of(15, "U-5")[:3])
    await crashed.publish_pending()
    assert crashed.pending == 1  # not acknowledged: the process dies here
    states.up = True
    restarted = tracker_on(unit, states)
    assert await restarted.recover() == 1
    await restarted.publish_pending()
    assert [s.shipment_id for s in states.sent] == ["U-5"]
    assert unit.committed.shipments["U-5"].published_version == 0
    await restarted.flush_marks()
    assert unit.committed.shipments["U-5"].published_version == 1
    assert await tracker_on(unit).recover() == 0


async def test_the_clock_alone_makes_a_quiet_shipment_delayed_and_silent() -> None:
    unit = FakeUnitOfWork(RULES)
    states = FakeStates()
    events = events_of(16, "U-6")
    clock = Clock(events[3].occurred_at)
    tracker = tracker_on(unit, states, clock)
    await tracker.apply(events[:4])
    await tracker.publish_pending()
    before = stored(unit, "U-6")
    assert not before.silent
    promised = before.view.promised_delivery_at
    assert promised is not None
    clock.now = promised + timedelta(days=2)
    result = await tracker.tick(100)
    assert [s.shipment_id for s in result.changed] == ["U-6"]
    await tracker.publish_pending()
    after = stored(unit, "U-6")
    assert (after.delayed, after.silent, after.version) == (True, True, before.version + 1)
    assert after.view == before.view
    assert states.sent[-1] == after
    assert after.eta is not None
    assert after.eta >= clock.now


async def test_the_consumer_applies_decoded_records_and_dead_letters_undecodable_ones() -> None:
    from aiokafka.structs import ConsumerRecord

    unit = FakeUnitOfWork(RULES)
    posts = journey(17, "U-7", START)[:3]
    values = [cargo_event(p).SerializeToString() for p in posts] + [b"\x00junk"]
    records = [
        ConsumerRecord("t", 0, n, 0, 0, None, v, None, 0, 0, ()) for n, v in enumerate(values)
    ]
    letters = await EventsHandler(tracker_on(unit), TOPOLOGY)(records)
    assert [letter.record.offset for letter in letters] == [3]
    assert stored(unit, "U-7").view.events == 3
