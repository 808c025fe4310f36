"""What time alone changes: the ETA never in the past, delay as soon as the promise has
passed, silence, and the next moment any of them can change (``wake_at``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from services.tracker.domain import (
    Statistics,
    Status,
    TrackedShipment,
    estimate_arrival,
    fold,
)
from services.tracker.domain.clock import (
    ClockRules,
    advance_clock,
    clock_state,
    heard_at,
    shown_eta,
)
from services.tracker.domain.eta import current_step
from tests.unit.tracker_clock_samples import (
    DECEMBER,
    JUST,
    MARCH,
    NO_DWELLS,
    PROMISED,
    RULES,
    RULES_OF_CLOCK,
    WITH_DWELLS,
    ev,
    held_at_boyuk_kesik,
    hours_from,
)


def test_a_shipment_held_since_march_is_expected_from_now_and_delayed_and_silent() -> None:
    view = held_at_boyuk_kesik()
    assert view.status is Status.HELD
    assert view.current_location == "AZBYK"
    anchored = estimate_arrival(view, WITH_DWELLS, Statistics())
    assert anchored is not None
    assert anchored < PROMISED  # the events alone still say March
    state = clock_state(view, None, WITH_DWELLS, Statistics(), RULES_OF_CLOCK, DECEMBER)
    assert state.eta == DECEMBER + timedelta(hours=hours_from("AZBYK"))
    assert state.delayed
    assert state.silent
    # Nothing left to wait for but the next refresh of the ageing ETA.
    assert state.wake_at == DECEMBER + RULES_OF_CLOCK.eta_refresh


def test_the_eta_adds_the_reference_dwell_of_every_remaining_node_unless_a_median_is_known() -> (
    None
):
    view = held_at_boyuk_kesik()
    step = current_step(view, WITH_DWELLS, Statistics())
    assert step is not None
    assert (step.node, step.moving, step.hours) == ("AZBYK", False, 12.0)
    eta = estimate_arrival(view, WITH_DWELLS, Statistics())
    assert eta == MARCH + timedelta(hours=12 + hours_from("AZBYK"))
    learned = Statistics(dwell_hours={"AZBYK": 30.0, "GEGAR": 1.0})
    eta = estimate_arrival(view, WITH_DWELLS, learned)
    assert eta == MARCH + timedelta(hours=30 + hours_from("AZBYK") - 3.0 + 1.0)


def test_an_eta_on_time_is_anchored_on_the_events_until_the_step_is_overdue() -> None:
    departed = fold(
        "BK1",
        [
            ev("BOOKED", MARCH - timedelta(days=2), "AZBAK", carrier="mcm"),
            ev("DEPARTED", MARCH, "AZBAK", mode="RAIL"),
        ],
        RULES,
    )
    anchored = MARCH + timedelta(hours=hours_from("AZBAK"))
    soon = MARCH + timedelta(hours=1)
    state = clock_state(departed, None, WITH_DWELLS, Statistics(), RULES_OF_CLOCK, soon)
    assert (state.eta, state.delayed, state.silent) == (anchored, False, False)
    # The run to Boyuk-Kesik is expected to end first: the ETA starts ageing then.
    run = WITH_DWELLS.segment("AZBAK", "AZBYK")
    assert run is not None
    assert state.wake_at == MARCH + timedelta(hours=run.hours) + JUST
    late = MARCH + timedelta(hours=20)
    state = clock_state(departed, None, WITH_DWELLS, Statistics(), RULES_OF_CLOCK, late)
    assert state.eta == max(anchored, late + timedelta(hours=hours_from("AZBYK") + 12))
    assert state.wake_at == late + RULES_OF_CLOCK.eta_refresh


def test_a_shipment_is_delayed_as_soon_as_the_promise_or_its_eta_has_passed_it() -> None:
    booked = fold("BK1", [ev("BOOKED", MARCH, "AZBAK", carrier="mcm")], RULES)
    state = clock_state(booked, None, WITH_DWELLS, Statistics(), ClockRules(), MARCH)
    assert (state.eta, state.delayed, state.silent) == (None, False, False)
    assert state.wake_at == PROMISED + JUST
    assert not clock_state(booked, None, WITH_DWELLS, Statistics(), ClockRules(), PROMISED).delayed
    after = PROMISED + JUST
    assert clock_state(booked, None, WITH_DWELLS, Statistics(), ClockRules(), after).delayed
    # Held: the ageing ETA passes the promise before the promise itself passes.
    view = held_at_boyuk_kesik()
    turns = PROMISED - timedelta(hours=hours_from("AZBYK"))
    before = clock_state(view, None, WITH_DWELLS, Statistics(), ClockRules(), turns - JUST)
    assert not before.delayed
    assert before.wake_at is not None
    assert before.wake_at <= turns + JUST
    assert clock_state(view, None, WITH_DWELLS, Statistics(), ClockRules(), turns + JUST).delayed


def test_a_delivered_shipment_is_delayed_only_if_delivered_after_the_promise() -> None:
    base = [
        ev("BOOKED", MARCH - timedelta(days=2), "AZBAK", carrier="mcm"),
        ev("DEPARTED", MARCH, "AZBAK", mode="RAIL"),
    ]
    on_time = fold("BK1", [*base, ev("DELIVERED", PROMISED, "GEPTI", carrier="gr")], RULES)
    late = fold("BK1", [*base, ev("DELIVERED", DECEMBER, "GEPTI", carrier="gr")], RULES)
    for view, delayed in ((on_time, False), (late, True)):
        assert view.status is Status.DELIVERED
        state = clock_state(view, None, WITH_DWELLS, Statistics(), ClockRules(), DECEMBER)
        assert (state.eta, state.delayed, state.silent, state.wake_at) == (
            None,
            delayed,
            False,
            None,
        )


def test_silence_is_a_multiple_of_the_expected_step_with_a_floor() -> None:
    view = held_at_boyuk_kesik()
    heard = MARCH + timedelta(hours=1)
    rules = ClockRules(silent_factor=3, silent_floor=timedelta(hours=6))
    deadline = heard + timedelta(hours=36)  # three times the 12 h reference dwell
    at = clock_state(view, heard, WITH_DWELLS, Statistics(), rules, deadline)
    assert not at.silent
    after = clock_state(view, heard, WITH_DWELLS, Statistics(), rules, deadline + JUST)
    assert after.silent
    # At a node with no reference dwell (as hubs), the floor applies.
    floor = clock_state(view, heard, NO_DWELLS, Statistics(), rules, heard + timedelta(hours=7))
    assert floor.silent
    early = heard + timedelta(hours=5)
    assert not clock_state(view, heard, NO_DWELLS, Statistics(), rules, early).silent


def test_only_a_shipment_that_has_moved_can_be_silent_and_news_clears_it() -> None:
    booked = fold("BK1", [ev("BOOKED", MARCH, "AZBAK", carrier="mcm")], RULES)
    assert not clock_state(booked, None, WITH_DWELLS, Statistics(), ClockRules(), DECEMBER).silent
    events = [
        ev("BOOKED", MARCH - timedelta(days=2), "AZBAK", carrier="mcm"),
        ev("DEPARTED", MARCH - timedelta(days=1), "AZBAK", mode="RAIL"),
        ev("ARRIVED", MARCH, "AZBYK", mode="RAIL"),
        ev("CUSTOMS_HOLD", MARCH + timedelta(hours=1), "AZBYK"),
    ]
    news = ev("CUSTOMS_RELEASED", DECEMBER - timedelta(hours=1), "AZBYK")
    view = fold("BK1", [*events, news], RULES)
    heard = heard_at(view.last_event, [news], None)
    state = clock_state(view, heard, WITH_DWELLS, Statistics(), ClockRules(), DECEMBER)
    assert not state.silent
    assert state.delayed


def test_an_event_reported_late_is_heard_when_it_was_recorded() -> None:
    reported = MARCH + timedelta(days=9)
    late = ev("ARRIVED", MARCH, "AZBYK", recorded_at=reported)
    booked = ev("BOOKED", MARCH - timedelta(days=2), "AZBAK", carrier="mcm")
    view = fold("BK1", [booked, late], RULES)
    assert view.last_event is not None
    assert view.last_event.event_id == late.event_id
    assert heard_at(view.last_event, [late], None) == reported
    # Unchanged last event: what was heard before stands (a later batch need not hold it).
    assert heard_at(view.last_event, [], (view.last_event, reported)) == reported
    assert heard_at(view.last_event, [], None) == MARCH


def test_the_clock_changes_a_shipment_only_at_its_wake_time() -> None:
    """Between now and ``wake_at`` nothing but an ageing ETA changes; just after it,
    something does or a later wake time is set (it always moves forward)."""
    view = fold(
        "BK1",
        [
            ev("BOOKED", MARCH - timedelta(days=2), "AZBAK", carrier="mcm"),
            ev("DEPARTED", MARCH, "AZBAK", mode="RAIL"),
        ],
        RULES,
    )
    now = MARCH
    seen = 0
    for _ in range(5000):  # bounded: delayed and silent within days of 15-minute refreshes
        state = clock_state(view, MARCH, WITH_DWELLS, Statistics(), ClockRules(), now)
        if state.delayed and state.silent:
            break
        assert state.wake_at is not None
        assert state.wake_at > now
        middle = now + (state.wake_at - now) / 2
        between = clock_state(view, MARCH, WITH_DWELLS, Statistics(), ClockRules(), middle)
        assert (between.delayed, between.silent) == (state.delayed, state.silent)
        now = state.wake_at
        seen += 1
    else:
        raise AssertionError("never delayed and silent")
    assert seen > 3
    assert now < PROMISED  # the ETA passed the promise first


def test_a_clock_only_change_is_the_next_version_with_the_same_view() -> None:
    view = held_at_boyuk_kesik()
    stored = TrackedShipment(view, MARCH, False, 4, 1, MARCH, wake_at=PROMISED)
    changed = advance_clock(stored, WITH_DWELLS, Statistics(), ClockRules(), DECEMBER)
    assert changed.view is view
    assert (changed.version, changed.updated_at, changed.duplicates) == (5, DECEMBER, 1)
    assert (changed.delayed, changed.silent) == (True, True)
    assert changed.wake_at is not None
    assert changed.wake_at > DECEMBER
    again = advance_clock(changed, WITH_DWELLS, Statistics(), ClockRules(), DECEMBER)
    assert again.version == 5
    assert again == changed


def test_readers_never_see_an_eta_in_the_past_unless_the_cargo_has_arrived() -> None:
    view = held_at_boyuk_kesik()
    stored = TrackedShipment(view, MARCH, True, 1, 0, MARCH)
    assert shown_eta(stored, DECEMBER) == DECEMBER
    assert shown_eta(replace(stored, eta=DECEMBER + timedelta(days=1)), DECEMBER) == (
        DECEMBER + timedelta(days=1)
    )
    arrived = fold(
        "BK1",
        [
            ev("BOOKED", MARCH - timedelta(days=2), "AZBAK", carrier="mcm"),
            ev("ARRIVED", MARCH, "GEPTI", carrier="gr"),
        ],
        RULES,
    )
    assert shown_eta(TrackedShipment(arrived, MARCH, True, 1, 0, MARCH), DECEMBER) == MARCH
