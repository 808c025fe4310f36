"""The truth test's journeys and expectations, computed from the generator's truth, the
topology and the published tariff card only (never from tracker or tariff code).

Every journey is placed relative to the clock (``now``) so that it is in the past, its
sections leave within the corridor's 30-day KPI window, and a silent journey is well past
(or well before) the moment it goes silent: the comparisons never sit on a boundary.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from corridor.journeys import (
    DESTINATIONS,
    Journey,
    JourneyOptions,
    Post,
    SilenceRule,
    Truth,
    generate_journey,
)
from corridor.journeys.truth import OTHER_SEA, TEU, sea_of
from corridor.topology import Topology

REFERENCE = datetime(2026, 1, 1, tzinfo=UTC)  # where a journey is planned before placing it
OLDEST_START = timedelta(days=29)  # every section leaves within the 30-day window
# The tracker's defaults (TRACKER_SILENT_FACTOR, TRACKER_SILENT_FLOOR_HOURS).
SILENCE = SilenceRule(factor=3.0, minimum_hours=6.0)
CENTS = Decimal("0.01")


@dataclass(frozen=True)
class Group:
    """Journeys generated with one set of options and placed in one way."""

    name: str
    count: int
    options: JourneyOptions
    placing: str = "delivered"  # or "silent" (past its silence) or "quiet" (not yet silent)
    copies: bool = False  # some posts posted twice


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
        Group("quiet", 3, replace(base, silent_rate=1.0), "quiet"),
    ]


def _received(post: Post) -> datetime:
    return post.recorded_at or post.occurred_at


def _placed(
    group: Group, seed: int, topology: Topology, now: datetime, rng: random.Random
) -> Journey | None:
    """The journey of ``seed`` placed for its group, or ``None`` if it does not fit."""
    draft = generate_journey(random.Random(seed), topology, REFERENCE, "draft", group.options)
    truth = draft.truth
    if group.placing == "delivered":
        target = now - timedelta(hours=rng.uniform(1, 48))
        shift = target - max(_received(p) for p in draft.posts)
    elif group.placing == "quiet":
        shift = now - timedelta(hours=2) - truth.last_event_at
    else:
        since = truth.silent_from(SILENCE)
        assert since is not None
        # Well past it: the expected step may be a learnt median rather than the reference.
        shift = now - timedelta(hours=rng.uniform(36, 60)) - since
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
        while found < group.count:
            assert seed < 1000 * number + 200, f"no fitting journeys for {group.name}"
            journey = _placed(group, seed, topology, now, rng)
            seed += 1
            if journey is not None and (group.placing == "delivered") == journey.truth.delivered:
                chosen.append((group, journey))
                found += 1
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


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile with linear interpolation between closest ranks (docs/tracker.md)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def expected_corridor(
    truths: list[Truth], as_of: datetime, window: timedelta, topology: Topology
) -> dict[str, Any]:
    """``GET /v1/corridor`` recomputed from the truth (all shipments of a fresh database)."""
    by_status = dict.fromkeys(("BOOKED", "IN_TRANSIT", "HELD", "DELIVERED"), 0)
    by_node: dict[str, int] = {}
    closed: dict[str, list[tuple[int, float, float]]] = {}
    for truth in truths:
        by_status[truth.status] += 1
        if not truth.delivered:
            by_node[truth.current_location] = by_node.get(truth.current_location, 0) + 1
        for s in truth.sections:
            if s.exited_at is not None and s.exited_at >= as_of - window:
                row = (s.transit_seconds, truth.gross_weight_kg, TEU[truth.container_type])
                closed.setdefault(s.country, []).append(row)
    sections = {}
    for country, rows in closed.items():
        transits = [float(r[0]) for r in rows]
        target = topology.section_targets.get(country)
        sections[country] = {
            "shipments": len(rows),
            "median_transit_seconds": percentile(transits, 0.5),
            "p90_transit_seconds": percentile(transits, 0.9),
            "target_seconds": None if target is None else int(target * 3600),
            "tonnes": round(sum(r[1] for r in rows) / 1000, 3),
            "teu": sum(r[2] for r in rows),
        }
    return {
        "shipments_by_status": by_status,
        "shipments_by_node": dict(sorted(by_node.items())),
        "sections": sections,
    }


def storage_terms(
    card: Mapping[str, Any], code: str, topology: Topology
) -> tuple[int, Mapping[str, str]] | None:
    """(free days, per-day rate of the unit) at a node under a published card; ``None``
    where storage is not charged (hubs). A node that is both port and border is a port."""
    storage = card["surcharges"].get("storage")
    if storage is None:
        return None
    node = topology.node(code)
    kind = "port" if node.is_port else "border" if node.is_border else None
    override = storage["nodes"].get(code) or {}
    if kind is None and not override:
        return None
    free = storage["free_days"][kind] if kind is not None else 0
    if override.get("free_days") is not None:
        free = override["free_days"]
    per_day = override.get("per_day") or storage["per_day"]
    return free, per_day


def expected_storage(
    truth: Truth, card: Mapping[str, Any], topology: Topology
) -> list[tuple[str, str, int, Decimal]]:
    """(node, operator, chargeable days, amount) per node, in the order of the journey."""

    def free_days(dwell: Any) -> int | None:
        terms = storage_terms(card, dwell.node, topology)
        return None if terms is None else terms[0]

    unit = truth.container_type
    quantity = Decimal(str(truth.gross_weight_kg)) / 1000 if unit == "WAGON" else Decimal(1)
    result = []
    for code, days in truth.chargeable_days(free_days).items():
        terms = storage_terms(card, code, topology)
        assert terms is not None
        amount = (Decimal(terms[1][unit]) * quantity * days).quantize(CENTS, ROUND_HALF_UP)
        result.append((code, topology.node(code).operator, days, amount))
    return result
