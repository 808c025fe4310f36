"""Realistic corridor journeys as carrier posts: the simulator's and the tests' source.

Pure (a seeded ``random.Random`` in, event bodies out). A journey follows the fastest route
between two corridor nodes with border and port dwell drawn around the published figures,
some customs holds, carrier estimates (``EST``), and optionally duplicated and late posts.
Bodies have the exact JSON shape of ``POST /v1/events``; ``carrier`` says which demo carrier
posts each one (the carrier comes from the API key, never from the body).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from corridor.identifiers import make_container_no, make_wagon_no
from corridor.topology import Node, Topology

# Who posts events at a node, for the demo carriers (ids are lower-case operator ids).
DEMO_REPORTER_BY_OPERATOR = {
    "CR": "ktz",  # KTZ receives trains at the Chinese border stations
    "KTZ": "ktz",
    "PORT-AKTAU": "port-aktau",
    "PORT-KURYK": "ktz",
    "PORT-BAKU": "port-baku",
    "ADY": "ady",
    "GR": "gr",
    "PORT-POTI": "port-poti",
    "PORT-BATUMI": "gr",
    "TCDD": "gr",
    "BSEA": "port-poti",
}
BOOKER = "mcm"
VESSEL_CARRIER = "asco"

# Demo journeys: origin at the Chinese border, destination on the Black Sea or in Türkiye.
ORIGINS = ("CNHRS", "CNAKL")
DESTINATIONS = ("GEPTI", "GEPTI", "GEBUS", "TRKSY")
CONTAINER_TYPES = ("40HC", "40HC", "40GP", "20GP", "45HC", "WAGON")

# Typical dwell in hours (low, high) by node kind; Aktau's ferry wait dominates the
# journey, as reported (2-3 days, up to a week).
DWELL_HOURS = {"border": (3.0, 14.0), "port": (10.0, 60.0), "hub": (2.0, 8.0)}
PORT_DWELL_OVERRIDES = {"KZAAU": (24.0, 160.0), "KZKUR": (8.0, 72.0)}


@dataclass(frozen=True)
class Post:
    carrier: str
    body: dict[str, Any]
    occurred_at: datetime

    @property
    def event_id(self) -> str:
        return str(self.body["event_id"])


@dataclass
class JourneyOptions:
    customs_hold_rate: float = 0.15
    estimate_rate: float = 0.5
    exception_rate: float = 0.02
    wagon_share: float = 0.15
    promised_slack_days: tuple[float, float] = (-1.0, 5.0)
    origins: tuple[str, ...] = ORIGINS
    destinations: tuple[str, ...] = DESTINATIONS
    extra: dict[str, Any] = field(default_factory=dict)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _reporter(node: Node) -> str:
    return DEMO_REPORTER_BY_OPERATOR.get(node.operator, "ktz")


def plan_journey(
    rng: random.Random,
    topology: Topology,
    start: datetime,
    shipment_id: str,
    options: JourneyOptions | None = None,
) -> list[Post]:
    """Every post of one journey, in the order things happened (``occurred_at``)."""
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
    posts: list[Post] = []
    sequence = 0

    def post(carrier: str, event_type: str, location: str, at: datetime, **more: Any) -> None:
        nonlocal sequence
        sequence += 1
        body: dict[str, Any] = {
            "event_id": f"{shipment_id}-{sequence:03d}-{event_type.lower()}",
            "event_type": event_type,
            "occurred_at": _iso(at),
            "shipment_id": shipment_id,
            "location": location,
            **equipment,
            **more,
        }
        posts.append(Post(carrier, body, at))

    now = start
    post(
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
            "promised_delivery_at": _iso(promised),
        },
    )
    first = topology.node(origin)
    now += timedelta(hours=rng.uniform(2, 24))
    post(_reporter(first), "GATE_IN", origin, now, mode="RAIL")
    now += timedelta(hours=rng.uniform(1, 6))
    post(_reporter(first), "LOADED", origin, now, mode="RAIL")
    now += timedelta(hours=rng.uniform(0.5, 3))
    post(_reporter(first), "DEPARTED", origin, now, mode=route[0].mode)
    if rng.random() < opts.estimate_rate:
        eta = now + timedelta(hours=reference_hours * rng.uniform(0.9, 1.2))
        post(
            BOOKER,
            "ARRIVED",
            destination,
            now,
            classifier="EST",
            mode="RAIL",
            occurred_at=_iso(eta),
        )
        posts[-1] = Post(BOOKER, posts[-1].body, now)  # known now, about the future

    for index, seg in enumerate(route):
        node = topology.node(seg.destination)
        carrier = VESSEL_CARRIER if seg.mode == "VESSEL" else _reporter(node)
        now += timedelta(hours=seg.hours * rng.uniform(0.85, 1.4))
        post(carrier, "ARRIVED", node.code, now, mode=seg.mode)
        if node.code == destination:
            break
        low, high = PORT_DWELL_OVERRIDES.get(
            node.code,
            DWELL_HOURS["port" if node.is_port else "border" if node.is_border else "hub"],
        )
        dwell = rng.uniform(low, high)
        here = _reporter(node)
        if node.is_border:
            post(here, "BORDER_CROSSED", node.code, now + timedelta(hours=dwell * 0.3), mode="RAIL")
            if rng.random() < opts.customs_hold_rate:
                post(
                    here,
                    "CUSTOMS_HOLD",
                    node.code,
                    now + timedelta(hours=dwell * 0.4),
                    reason=rng.choice(("document check", "inspection", "sanctions screening")),
                )
                held = rng.uniform(6, 48)
                dwell += held
                post(here, "CUSTOMS_RELEASED", node.code, now + timedelta(hours=dwell * 0.9))
        if node.is_port:
            if seg.mode == "VESSEL":
                post(here, "DISCHARGED", node.code, now + timedelta(hours=dwell * 0.2))
            next_mode = route[index + 1].mode
            if next_mode == "VESSEL":
                post(here, "LOADED", node.code, now + timedelta(hours=dwell * 0.95), mode="VESSEL")
        if rng.random() < opts.exception_rate:
            post(
                here,
                "EXCEPTION",
                node.code,
                now + timedelta(hours=dwell * 0.5),
                reason="wagon defect, transshipped",
            )
        now += timedelta(hours=dwell)
        departing = VESSEL_CARRIER if route[index + 1].mode == "VESSEL" else here
        post(departing, "DEPARTED", node.code, now, mode=route[index + 1].mode)

    last = topology.node(destination)
    here = _reporter(last)
    if last.is_port and route[-1].mode == "VESSEL":
        now += timedelta(hours=rng.uniform(2, 10))
        post(here, "DISCHARGED", destination, now)
    now += timedelta(hours=rng.uniform(4, 30))
    post(here, "GATE_OUT", destination, now, mode="TRUCK")
    now += timedelta(hours=rng.uniform(2, 24))
    post(here, "DELIVERED", destination, now)
    posts.sort(key=lambda p: p.occurred_at)
    return posts


def scramble(
    rng: random.Random, posts: list[Post], duplicate_rate: float = 0.05, late_rate: float = 0.05
) -> list[Post]:
    """Posting order as carriers really post: some posts late (after later events), some
    twice. Every post stays; duplicates are identical bodies."""
    ordered = list(posts)
    result: list[Post] = []
    delayed: list[tuple[int, Post]] = []
    for index, item in enumerate(ordered):
        if rng.random() < late_rate:
            delayed.append((index + rng.randint(1, 5), item))
        else:
            result.append(item)
        for due, late in [d for d in delayed if d[0] <= index]:
            result.append(late)
            delayed.remove((due, late))
        if rng.random() < duplicate_rate:
            result.append(item)
    result += [late for _, late in delayed]
    return result
