"""Realistic corridor journeys as carrier posts, each with its truth.

Pure (a seeded ``random.Random`` in, event bodies and the truth out). A journey follows the
fastest route between two corridor nodes with border and port dwell drawn around each node's
reference ``dwell_hours`` (or typical figures by node kind where it has none), some customs
holds, carrier estimates (``EST``), and, as options, long dwells, departures and arrivals at
the same instant, posts without ``mode``, late and shuffled posts, and journeys that stop
reporting. Bodies have the exact JSON shape of ``POST /v1/events``; ``carrier`` says which
demo carrier posts each one (from the API key, never the body). Options left at their
defaults draw nothing more from ``rng``: a seed gives the same journey as before them.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from corridor.identifiers import make_container_no, make_wagon_no
from corridor.journeys import truth as t
from corridor.journeys.model import (
    BOOKER,
    CONTAINER_TYPES,
    DEMO_REPORTER_BY_OPERATOR,
    DWELL_HOURS,
    REFERENCE_SPREAD,
    SAME_INSTANT_MAX_HOURS,
    VESSEL_CARRIER,
    Journey,
    JourneyOptions,
    Post,
)
from corridor.journeys.posting import chance, received, without_mode
from corridor.topology import Node, Segment, Topology


def _reporter(node: Node) -> str:
    return DEMO_REPORTER_BY_OPERATOR.get(node.operator, BOOKER)


def _carrier(seg: Segment, node: Node) -> str:
    """Who reports a move over ``seg`` at ``node``: a sea leg's line, else the node's."""
    if seg.mode == "VESSEL":
        return DEMO_REPORTER_BY_OPERATOR.get(seg.operator, VESSEL_CARRIER)
    return _reporter(node)


def _dwell_hours(rng: random.Random, node: Node, opts: JourneyOptions) -> float:
    if (node.is_border or node.is_port) and chance(rng, opts.long_dwell_rate):
        return 24 * rng.uniform(*opts.long_dwell_days)
    if node.dwell_hours > 0:
        return node.dwell_hours * rng.uniform(*REFERENCE_SPREAD)
    kind = "port" if node.is_port else "border" if node.is_border else "hub"
    return rng.uniform(*DWELL_HOURS[kind])


class _Plan:
    """The posts of one journey as they are planned, with where each puts the cargo."""

    def __init__(self, shipment_id: str, equipment: dict[str, str]) -> None:
        self.shipment_id = shipment_id
        self.equipment = equipment
        self.posts: list[Post] = []
        self.places: dict[str, str] = {}  # event id -> the section an actual post starts

    def post(self, carrier: str, event_type: str, location: str, at: datetime, **more: Any) -> str:
        event_id = f"{self.shipment_id}-{len(self.posts) + 1:03d}-{event_type.lower()}"
        body: dict[str, Any] = {
            "event_id": event_id,
            "event_type": event_type,
            "occurred_at": datetime.isoformat(at),
            "shipment_id": self.shipment_id,
            "location": location,
            **self.equipment,
            **more,
        }
        self.posts.append(Post(carrier, body, at))
        return event_id

    def act(
        self, place: str, carrier: str, event_type: str, location: str,
        at: datetime, **more: Any,
    ) -> None:  # fmt: skip
        """An actual event after the booking: it places the cargo in ``place``."""
        event_id = self.post(carrier, event_type, location, at, **more)
        self.places[event_id] = place


def generate_journey(
    rng: random.Random,
    topology: Topology,
    start: datetime,
    shipment_id: str,
    options: JourneyOptions | None = None,
) -> Journey:
    """One journey: its posts in time order and in posting order, and its truth."""
    opts = options or JourneyOptions()
    origin = rng.choice(opts.origins)
    destination = rng.choice(opts.destinations)
    route = topology.route(origin, destination)
    if not route:
        raise ValueError(f"no route {origin} -> {destination}")
    container_type = rng.choice(CONTAINER_TYPES)
    if container_type == "WAGON" or rng.random() < opts.wagon_share / 4:
        container_type = "WAGON"
        equipment = {"wagon_no": make_wagon_no(rng, rng.choice((8, 12)))}
    else:
        equipment = {"container_no": make_container_no(rng)}
    weight = round(rng.uniform(8_000, 30_000 if container_type != "WAGON" else 68_000))
    reference_hours = sum(s.hours for s in route) + 24 * 6  # moving time + typical dwell
    promised = (
        start
        + timedelta(hours=reference_hours)
        + timedelta(days=rng.uniform(*opts.promised_slack_days))
    )
    plan = _Plan(shipment_id, equipment)
    now = start
    plan.post(
        BOOKER,
        "BOOKED",
        origin,
        now,
        booking={
            "origin": origin,
            "destination": destination,
            "container_type": container_type,
            "gross_weight_kg": weight,
            "cargo_description": rng.choice(
                ("electronics", "auto parts", "ferroalloys", "grain", "textiles", "machinery")
            ),
            "hs_code": rng.choice(("8471", "8708", "7202", "1001", "6204", "8479")),
            "promised_delivery_at": datetime.isoformat(promised),
        },
    )
    first = topology.node(origin)
    here_country = first.country
    now += timedelta(hours=rng.uniform(2, 24))
    plan.act(here_country, _reporter(first), "GATE_IN", origin, now, mode="RAIL")
    now += timedelta(hours=rng.uniform(1, 6))
    plan.act(here_country, _reporter(first), "LOADED", origin, now, mode="RAIL")
    now += timedelta(hours=rng.uniform(0.5, 3))
    _depart(plan, topology, first, route[0], now)
    if rng.random() < opts.estimate_rate:
        eta = now + timedelta(hours=reference_hours * rng.uniform(0.9, 1.2))
        plan.post(
            BOOKER,
            "ARRIVED",
            destination,
            now,
            classifier="EST",
            mode="RAIL",
            occurred_at=datetime.isoformat(eta),
        )
        last = plan.posts[-1]
        plan.posts[-1] = Post(BOOKER, last.body, now)  # known now, about the future
    now = _travel(rng, plan, topology, route, destination, now, opts)
    last_node = topology.node(destination)
    here, country = _reporter(last_node), last_node.country
    if last_node.is_port and route[-1].mode == "VESSEL":
        now += timedelta(hours=rng.uniform(2, 10))
        plan.act(country, here, "DISCHARGED", destination, now)
    now += timedelta(hours=rng.uniform(4, 30))
    plan.act(country, here, "GATE_OUT", destination, now, mode="TRUCK")
    now += timedelta(hours=rng.uniform(2, 24))
    plan.act(country, here, "DELIVERED", destination, now)
    return _finish(rng, plan, topology, route, opts)


def _depart(plan: _Plan, topology: Topology, node: Node, seg: Segment, at: datetime) -> None:
    carrier = _carrier(seg, node)
    place = t.sea_of(node.country) if seg.mode == "VESSEL" else node.country
    plan.act(place, carrier, "DEPARTED", node.code, at, mode=seg.mode)


def _travel(
    rng: random.Random,
    plan: _Plan,
    topology: Topology,
    route: list[Segment],
    destination: str,
    now: datetime,
    opts: JourneyOptions,
) -> datetime:
    """Every leg and intermediate node; the time of the arrival at the destination."""
    for index, seg in enumerate(route):
        node = topology.node(seg.destination)
        carrier = _carrier(seg, node)
        took = seg.hours * rng.uniform(0.85, 1.4)
        if seg.hours <= SAME_INSTANT_MAX_HOURS and chance(rng, opts.same_instant_rate):
            took = 0.0  # the carrier reports leaving A and reaching B at once
        now += timedelta(hours=took)
        plan.act(node.country, carrier, "ARRIVED", node.code, now, mode=seg.mode)
        if node.code == destination:
            break
        dwell = _dwell_hours(rng, node, opts)
        here, country = _reporter(node), node.country
        if node.is_border:
            at = now + timedelta(hours=dwell * 0.3)
            plan.act(country, here, "BORDER_CROSSED", node.code, at, mode="RAIL")
            if rng.random() < opts.customs_hold_rate:
                reason = rng.choice(("document check", "inspection", "sanctions screening"))
                at = now + timedelta(hours=dwell * 0.4)
                plan.act(country, here, "CUSTOMS_HOLD", node.code, at, reason=reason)
                dwell += rng.uniform(6, 48)
                at = now + timedelta(hours=dwell * 0.9)
                plan.act(country, here, "CUSTOMS_RELEASED", node.code, at)
        if node.is_port:
            if seg.mode == "VESSEL":
                at = now + timedelta(hours=dwell * 0.2)
                plan.act(country, here, "DISCHARGED", node.code, at)
            if route[index + 1].mode == "VESSEL":
                at = now + timedelta(hours=dwell * 0.95)
                plan.act(country, here, "LOADED", node.code, at, mode="VESSEL")
        if rng.random() < opts.exception_rate:
            at = now + timedelta(hours=dwell * 0.5)
            reason = "wagon defect, transshipped"
            plan.act(country, here, "EXCEPTION", node.code, at, reason=reason)
        now += timedelta(hours=dwell)
        _depart(plan, topology, node, route[index + 1], now)
    return now


def _finish(
    rng: random.Random,
    plan: _Plan,
    topology: Topology,
    route: list[Segment],
    opts: JourneyOptions,
) -> Journey:
    """Time order, the stop of a silent journey, receive times, posting order, the truth."""
    posts = sorted(plan.posts, key=lambda p: p.occurred_at)  # stable: same instant, as planned
    actual = [p for p in posts if p.event_id in plan.places]
    stopped = False
    if chance(rng, opts.silent_rate):
        keep = actual[rng.randrange(len(actual) - 1)]  # never the delivery
        kept_at = posts.index(keep)
        posts = [p for i, p in enumerate(posts) if i <= kept_at]
        actual = actual[: actual.index(keep) + 1]
        stopped = True
    if opts.modeless_rate > 0:
        posts = [without_mode(p) if rng.random() < opts.modeless_rate else p for p in posts]
    if opts.late_rate > 0 or opts.shuffle:
        posts = [received(rng, p, p.event_id in plan.places, opts) for p in posts]
    heard = {p.event_id: p.recorded_at for p in posts}
    posting = sorted(posts, key=lambda p: p.recorded_at or p.occurred_at)
    if opts.shuffle:
        rng.shuffle(posting)
    happenings = [
        t.Happening(
            p.body["event_type"], p.body["location"], p.occurred_at, plan.places[p.event_id]
        )
        for p in actual
    ]
    booking = posts[0].body["booking"]
    final = actual[-1]
    truth = t.Truth(
        shipment_id=plan.shipment_id,
        origin=booking["origin"],
        destination=booking["destination"],
        container_type=booking["container_type"],
        gross_weight_kg=float(booking["gross_weight_kg"]),
        booked_at=posts[0].occurred_at,
        promised_delivery_at=datetime.fromisoformat(booking["promised_delivery_at"]),
        status=t.status_of(happenings),
        current_location=final.body["location"],
        last_event_at=final.occurred_at,
        last_heard_at=heard[final.event_id] or final.occurred_at,
        delivered_at=None if stopped else final.occurred_at,
        sections=t.sections_of(happenings),
        dwells=t.dwells_of(happenings, topology),
        segments=t.segments_of(happenings),
        step=_step_of(final, route, topology) if stopped else None,
        events=len(posts),
        stopped=stopped,
    )
    return Journey(posts, posting, truth)


def _step_of(final: Post, route: list[Segment], topology: Topology) -> t.Step:
    """The step the cargo is in after its latest actual event: the leg it left on after a
    departure, else its dwell at the node it was reported at."""
    where = final.body["location"]
    if final.body["event_type"] == "DEPARTED":
        leg = next(s for s in route if s.origin == where)
        return t.Step(where, leg.destination, leg.hours)
    return t.Step(where, "", topology.node(where).dwell_hours)


def plan_journey(
    rng: random.Random,
    topology: Topology,
    start: datetime,
    shipment_id: str,
    options: JourneyOptions | None = None,
) -> list[Post]:
    """Every post of one journey, in the order things happened (``occurred_at``)."""
    return generate_journey(rng, topology, start, shipment_id, options).posts
