import itertools
import math
import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from corridor.journeys import (
    DwellTruth,
    Journey,
    JourneyOptions,
    SilenceRule,
    generate_journey,
    plan_journey,
    scramble,
)
from corridor.topology import load_topology

START = datetime(2026, 10, 1, tzinfo=UTC)
TOPOLOGY = load_topology()
# Every option on, most of them often.
EVERYTHING = JourneyOptions(
    customs_hold_rate=0.4,
    exception_rate=0.2,
    long_dwell_rate=0.3,
    same_instant_rate=0.5,
    modeless_rate=0.3,
    late_rate=0.2,
    shuffle=True,
    silent_rate=0.3,
)


def journeys(options: JourneyOptions, count: int = 40) -> list[Journey]:
    return [
        generate_journey(random.Random(seed), TOPOLOGY, START, f"SHP-{seed}", options)
        for seed in range(count)
    ]


def test_a_journey_starts_booked_and_ends_delivered_in_time_order() -> None:
    for seed in range(30):
        posts = plan_journey(random.Random(seed), TOPOLOGY, START, f"SHP-{seed}")
        actual = [p for p in posts if p.body.get("classifier", "ACT") == "ACT"]
        assert actual[0].body["event_type"] == "BOOKED"
        assert actual[-1].body["event_type"] == "DELIVERED"
        times = [p.occurred_at for p in posts]
        assert times == sorted(times)
        assert len({p.event_id for p in posts}) == len(posts)


def test_a_journey_crosses_the_caspian_and_holds_are_released() -> None:
    for seed in range(30):
        posts = plan_journey(random.Random(seed), TOPOLOGY, START, f"SHP-{seed}")
        assert any(p.body.get("mode") == "VESSEL" for p in posts)
        types = Counter(p.body["event_type"] for p in posts)
        assert types["CUSTOMS_HOLD"] == types["CUSTOMS_RELEASED"]


def test_scramble_keeps_every_post_and_only_adds_duplicates() -> None:
    rng = random.Random(3)
    posts = plan_journey(rng, TOPOLOGY, START, "SHP-X")
    scrambled = scramble(rng, posts, duplicate_rate=0.3, late_rate=0.3)
    assert {p.event_id for p in scrambled} == {p.event_id for p in posts}
    assert len(scrambled) >= len(posts)
    assert [p.event_id for p in scrambled] != [p.event_id for p in posts]


def test_a_seed_gives_the_same_journey_and_truth() -> None:
    for seed in range(10):
        first = generate_journey(random.Random(seed), TOPOLOGY, START, "S", EVERYTHING)
        again = generate_journey(random.Random(seed), TOPOLOGY, START, "S", EVERYTHING)
        assert first == again


def test_sections_chain_from_the_first_movement_to_the_delivery() -> None:
    for journey in journeys(EVERYTHING):
        truth, sections = journey.truth, journey.truth.sections
        gate_in = next(p for p in journey.posts if p.body["event_type"] == "GATE_IN")
        assert sections[0].entered_at == gate_in.occurred_at
        assert sections[0].country == TOPOLOGY.node(truth.origin).country
        for before, after in itertools.pairwise(sections):
            assert before.exited_at == after.entered_at
            assert before.country != after.country
        assert all(s.exited_at is not None for s in sections[:-1])
        assert sections[-1].exited_at == truth.delivered_at  # open while not delivered
        assert all(s.transit_seconds >= 0 for s in sections)


def test_the_caspian_and_the_black_sea_are_sections_of_their_own() -> None:
    caspian = journeys(JourneyOptions(), 10)
    assert all("XC" in [s.country for s in j.truth.sections] for j in caspian)
    black_sea = journeys(JourneyOptions(destinations=("ROCND",)), 10)
    for journey in black_sea:
        countries = [s.country for s in journey.truth.sections]
        assert countries[-3:] == ["GE", "XB", "RO"]
        assert countries.count("XC") == 1


def test_dwell_is_at_borders_and_ports_inside_the_node_s_section() -> None:
    for journey in journeys(EVERYTHING):
        truth = journey.truth
        for dwell in truth.dwells:
            node = TOPOLOGY.node(dwell.node)
            assert node.is_border or node.is_port
            assert dwell.kind == ("border" if node.is_border else "port")
            assert any(
                s.country == node.country
                and s.entered_at <= dwell.arrived_at
                and (s.exited_at is None or (dwell.departed_at or s.exited_at) <= s.exited_at)
                for s in truth.sections
            )
        if truth.delivered:
            route = TOPOLOGY.route(truth.origin, truth.destination) or []
            measured = [
                s.destination
                for s in route
                if TOPOLOGY.node(s.destination).is_border or TOPOLOGY.node(s.destination).is_port
            ]
            assert [d.node for d in truth.dwells] == measured
            assert all(d.departed_at is not None for d in truth.dwells)


def test_segment_runs_follow_the_route() -> None:
    for journey in journeys(EVERYTHING):
        truth = journey.truth
        route = TOPOLOGY.route(truth.origin, truth.destination) or []
        runs = [(r.origin, r.destination) for r in truth.segments]
        assert runs == [(s.origin, s.destination) for s in route][: len(runs)]
        assert all(r.departed_at <= r.arrived_at for r in truth.segments)
        if truth.delivered:
            assert len(runs) == len(route)


def test_same_instant_legs_leave_before_they_arrive() -> None:
    options = JourneyOptions(same_instant_rate=1.0)
    found = 0
    for journey in journeys(options, 10):
        zero = [r for r in journey.truth.segments if r.departed_at == r.arrived_at]
        found += len(zero)
        for run in zero:
            types = [
                (p.body["event_type"], p.body["location"])
                for p in journey.posts
                if p.occurred_at == run.departed_at
            ]
            assert types.index(("DEPARTED", run.origin)) < types.index(("ARRIVED", run.destination))
            # The section boundary is that instant too.
            if TOPOLOGY.node(run.origin).country != TOPOLOGY.node(run.destination).country:
                assert any(s.entered_at == run.arrived_at for s in journey.truth.sections)
    assert found >= 10


def test_posting_options_change_how_it_is_posted_not_what_happened() -> None:
    plain = JourneyOptions(customs_hold_rate=0.4, long_dwell_rate=0.3)
    posted = JourneyOptions(
        customs_hold_rate=0.4, long_dwell_rate=0.3, modeless_rate=1.0, late_rate=0.3, shuffle=True
    )
    for before, after in zip(journeys(plain, 20), journeys(posted, 20), strict=True):
        # What happened is the same; only when the last event was heard of may differ.
        assert replace(after.truth, last_heard_at=before.truth.last_heard_at) == before.truth
        assert after.truth.last_heard_at >= before.truth.last_heard_at
        assert [p.event_id for p in after.posts] == [p.event_id for p in before.posts]
        assert sorted(p.event_id for p in after.posting) == sorted(p.event_id for p in after.posts)
        assert [p.event_id for p in after.posting] != [p.event_id for p in after.posts]
        assert all("mode" not in p.body for p in after.posts)
        for post in after.posts:
            assert post.recorded_at is not None
            assert post.recorded_at >= post.occurred_at


def test_late_posts_are_received_days_later_and_posted_after_later_events() -> None:
    options = JourneyOptions(late_rate=0.3)
    late_seen = 0
    for journey in journeys(options, 20):
        order = [p.event_id for p in journey.posting]
        for index, post in enumerate(journey.posts):
            assert post.recorded_at is not None
            if post.recorded_at - post.occurred_at >= timedelta(hours=12):
                late_seen += 1
                assert post.body["event_type"] != "BOOKED"
                later = journey.posts[index + 1 :]
                if later and later[0].recorded_at and later[0].recorded_at < post.recorded_at:
                    assert order.index(later[0].event_id) < order.index(post.event_id)
        recorded = [p.recorded_at or p.occurred_at for p in journey.posting]
        assert recorded == sorted(recorded)  # without shuffling, as received
    assert late_seen >= 20


def test_a_silent_journey_stops_before_its_delivery_and_goes_silent_with_the_clock() -> None:
    rule = SilenceRule(factor=2.0, minimum_hours=6.0)
    full = journeys(JourneyOptions(customs_hold_rate=0.5), 40)
    silent = journeys(JourneyOptions(customs_hold_rate=0.5, silent_rate=1.0), 40)
    statuses = set()
    for whole, stopped in zip(full, silent, strict=True):
        truth = stopped.truth
        assert truth.stopped
        assert not truth.delivered
        assert [p.event_id for p in stopped.posts] == [
            p.event_id for p in whole.posts[: len(stopped.posts)]
        ]
        assert "DELIVERED" not in [p.body["event_type"] for p in stopped.posts]
        actual = [p for p in stopped.posts if p.body.get("classifier", "ACT") == "ACT"]
        assert truth.current_location == actual[-1].body["location"]
        assert truth.last_event_at == actual[-1].occurred_at
        since = truth.silent_from(rule)
        assert since is not None
        assert truth.last_heard_at >= truth.last_event_at
        assert since - truth.last_heard_at >= timedelta(hours=rule.minimum_hours)
        step = truth.step
        assert step is not None
        assert since - truth.last_heard_at >= timedelta(hours=rule.factor * step.hours)
        assert step.origin == truth.current_location
        if step.moving:  # left on the next leg of its route
            assert actual[-1].body["event_type"] == "DEPARTED"
            assert TOPOLOGY.segment(step.origin, step.destination) is not None
        longer = truth.silent_from(rule, expected_hours=step.hours + 10)
        assert longer is not None
        assert longer >= since
        assert not truth.silent(since - timedelta(seconds=1), rule)
        assert truth.silent(since, rule)
        assert truth.sections[-1].exited_at is None
        statuses.add(truth.status)
        assert not whole.truth.silent(whole.truth.last_event_at + timedelta(days=365), rule)
    assert statuses == {"IN_TRANSIT", "HELD"}


def test_delayed_is_delivery_after_the_promise_or_the_promise_passed() -> None:
    for journey in journeys(EVERYTHING):
        truth = journey.truth
        promised = truth.promised_delivery_at
        if truth.delivered_at is not None:
            assert truth.delayed(START) == (truth.delivered_at > promised)
        else:
            assert truth.delayed(promised + timedelta(seconds=1)) is True
            assert truth.delayed(promised) is None


def test_long_dwells_count_their_started_days_beyond_the_free_ones() -> None:
    truths = [j.truth for j in journeys(JourneyOptions(long_dwell_rate=1.0), 10)]
    for truth in truths:
        assert all(d.seconds >= 3 * 86400 for d in truth.dwells[:-1])  # not at the destination

        def free(dwell: DwellTruth) -> int:
            return 3 if dwell.kind == "port" else 2

        days = truth.chargeable_days(free)
        for dwell in truth.dwells:
            assert dwell.departed_at is not None
            spell = dwell.departed_at - dwell.arrived_at
            started = math.ceil(spell / timedelta(days=1))
            assert days.get(dwell.node, 0) == max(0, started - free(dwell))
