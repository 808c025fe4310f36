"""The truth test's journeys: groups of options, each journey placed against the clock.

Every journey is placed relative to the clock (``now``) so that it is in the past, its
sections leave within the corridor's 30-day KPI window, and a silent journey is well past
(or well before) the moment it goes silent: the comparisons never sit on a boundary.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from corridor.journeys import (
    DESTINATIONS,
    Journey,
    JourneyOptions,
    Post,
    SilenceRule,
    Truth,
    generate_journey,
)
from corridor.journeys.truth import OTHER_SEA, sea_of
from corridor.topology import Topology

REFERENCE = datetime(2026, 1, 1, tzinfo=UTC)  # where a journey is planned before placing it
OLDEST_START = timedelta(days=29)  # every section leaves within the 30-day window
# The tracker's defaults (TRACKER_SILENT_FACTOR, TRACKER_SILENT_FLOOR_HOURS).
SILENCE = SilenceRule(factor=3.0, minimum_hours=6.0)


@dataclass(frozen=True)
class Group:
    """Journeys generated with one set of options and placed in one way."""

    name: str
    count: int
    options: JourneyOptions
    placing: str = "delivered"  # or "silent" (past its silence) or "quiet" (not yet silent)
    copies: bool = False  # some posts posted twice
    status: str = ""  # only journeys that end in this status


def black_sea_destinations(topology: Topology) -> tuple[str, ...]:
    """Ports reached over a sea other than the Caspian, beyond the demo destinations."""
    ends = {
        code
        for s in topology.segments
        if s.mode == "VESSEL" and sea_of(topology.node(s.origin).country) == OTHER_SEA
        for code in (s.origin, s.destination)
    }
    return tuple(sorted(ends - set(DESTINATIONS)))


def groups(topology: Topology) -> list[Group]:
    destinations = (*DESTINATIONS, *black_sea_destinations(topology))
    base = JourneyOptions(
        customs_hold_rate=0.3,
        exception_rate=0.1,
        estimate_rate=0.5,
        long_dwell_rate=0.25,
        long_dwell_days=(3.2, 5.0),
        destinations=destinations,
    )
    return [
        Group("plain", 6, base),
        Group("late", 6, replace(base, late_rate=0.35)),
        Group("shuffled", 6, replace(base, shuffle=True), copies=True),
        Group("modeless", 5, replace(base, modeless_rate=1.0)),
        Group("same-instant", 5, replace(base, same_instant_rate=1.0)),
        Group(
            "everything",
            5,
            replace(base, late_rate=0.2, shuffle=True, modeless_rate=0.5, same_instant_rate=0.5),
            copies=True,
        ),
        Group("silent", 6, replace(base, customs_hold_rate=0.6, silent_rate=1.0), "silent"),
        Group(
            "silent-held",
            2,
            replace(base, customs_hold_rate=1.0, silent_rate=1.0),
            "silent",
            status="HELD",
        ),
        Group("quiet", 3, replace(base, silent_rate=1.0), "quiet"),
    ]


def _received(post: Post) -> datetime:
    return post.recorded_at or post.occurred_at


Samples = dict[tuple[str, str], list[float]]


def samples_of(truths: list[Truth]) -> Samples:
    """Actual hours per leg (origin, destination) and per dwell (node, ""): what a tracker
    learns its expectations from (a median of some of them)."""
    samples: Samples = {}
    for truth in truths:
        for run in truth.segments:
            hours = (run.arrived_at - run.departed_at).total_seconds() / 3600
            samples.setdefault((run.origin, run.destination), []).append(hours)
        for dwell in truth.dwells:
            if dwell.departed_at is not None:
                samples.setdefault((dwell.node, ""), []).append(dwell.seconds / 3600)
    return samples


def longest_expectation(truth: Truth, samples: Samples) -> float:
    """The most a tracker could expect of the journey's current step: its reference, or a
    median of actual times, which is at most the longest of them."""
    step = truth.step
    assert step is not None
    return max([step.hours, *samples.get((step.origin, step.destination), [])])


def _placed(
    group: Group,
    seed: int,
    topology: Topology,
    now: datetime,
    rng: random.Random,
    samples: Samples,
) -> Journey | None:
    """The journey of ``seed`` placed for its group, or ``None`` if it does not fit."""
    draft = generate_journey(random.Random(seed), topology, REFERENCE, "draft", group.options)
    truth = draft.truth
    if group.placing == "delivered":
        target = now - timedelta(hours=rng.uniform(1, 48))
        shift = target - max(_received(p) for p in draft.posts)
    elif group.placing == "quiet":
        shift = now - timedelta(hours=2) - truth.last_heard_at
    else:  # past the silence under any expectation a tracker may have learnt
        expected = longest_expectation(truth, {**samples, **samples_of([truth])})
        since = truth.silent_from(SILENCE, max(expected, longest_expectation(truth, samples)))
        assert since is not None
        shift = now - timedelta(hours=rng.uniform(2, 12)) - since
    start = REFERENCE + shift
    last_received = max(_received(p) for p in draft.posts) + shift
    if start < now - OLDEST_START or last_received > now - timedelta(minutes=30):
        return None
    if not truth.delivered and abs(truth.promised_delivery_at + shift - now) < timedelta(hours=2):
        return None  # whether it is delayed would depend on the seconds the test takes
    shipment_id = f"TRUTH-{group.name}-{seed}-{now:%H%M%S}"
    return generate_journey(random.Random(seed), topology, start, shipment_id, group.options)


def build_journeys(topology: Topology, now: datetime) -> list[tuple[Group, Journey]]:
    """The test's journeys: each group's count, from consecutive seeds that fit."""
    chosen: list[tuple[Group, Journey]] = []
    for number, group in enumerate(groups(topology)):
        rng = random.Random(number)
        seed, found = 1000 * number, 0
        samples = samples_of([j.truth for _, j in chosen])
        while found < group.count:
            assert seed < 1000 * number + 300, f"no fitting journeys for {group.name}"
            journey = _placed(group, seed, topology, now, rng, samples)
            seed += 1
            if (
                journey is not None
                and (group.placing == "delivered") == journey.truth.delivered
                and journey.truth.status == (group.status or journey.truth.status)
            ):
                chosen.append((group, journey))
                samples = samples_of([j.truth for _, j in chosen])
                found += 1
    samples = samples_of([j.truth for _, j in chosen])
    for group, journey in chosen:  # still past it with every journey's actual times
        if group.placing == "silent":
            truth = journey.truth
            assert truth.silent(now, SILENCE, longest_expectation(truth, samples)), truth
    return chosen


def _interleaved(queues: list[list[Post]]) -> list[Post]:
    """One post of each journey in turn (carriers post at the same time)."""
    stream: list[Post] = []
    for turn in range(max((len(q) for q in queues), default=0)):
        stream += [q[turn] for q in queues if turn < len(q)]
    return stream


def posting_phases(chosen: list[tuple[Group, Journey]]) -> tuple[list[Post], list[Post]]:
    """Every journey's posts in its posting order, the journeys interleaved; some posted
    twice where the group says so. Split in two: each journey's posts up to its delivery,
    then those after it (late reports, copies), so that what comes after a delivery reaches
    the services in a later batch, whatever their batching."""
    heads, tails = [], []
    for group, journey in chosen:
        posts = list(journey.posting)
        if group.copies:
            posts += posts[::7]
        delivered = [i for i, p in enumerate(posts) if p.body["event_type"] == "DELIVERED"]
        cut = delivered[0] + 1 if delivered else len(posts)
        heads.append(posts[:cut])
        tails.append(posts[cut:])
    return _interleaved(heads), _interleaved(tails)


def reported_after_delivery(journey: Journey) -> list[Post]:
    """Arrivals and departures posted after the journey's delivery (they change dwell)."""
    order = [p.event_id for p in journey.posting]
    delivered = [p for p in journey.posting if p.body["event_type"] == "DELIVERED"]
    if not delivered:
        return []
    cut = order.index(delivered[0].event_id)
    return [
        p
        for p in journey.posting[cut + 1 :]
        if p.body["event_type"] in ("ARRIVED", "DEPARTED", "GATE_OUT")
        and p.body.get("classifier", "ACT") == "ACT"
    ]
