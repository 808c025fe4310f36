"""Shared by the tariff's tests: the corridor's topology and demo trust rules, a journey
with a long dwell at Aktau, what ingest publishes for a post, and the service run in
process with its lifespan."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
from aiokafka import ConsumerRecord
from fastapi import FastAPI

from corridor.journeys import JourneyOptions, Post, plan_journey
from corridor.kafka import CE_TYPE_CARGO_EVENT, OutgoingRecord, cloudevent_record
from corridor.parties import TrustRules
from corridor.principals import DEMO_PRINCIPALS_FILE, load_registry
from corridor.topology import load_topology
from corridor.v1 import charges_pb2, common_pb2, events_pb2

TOPOLOGY = load_topology()
RULES = TrustRules(TOPOLOGY, load_registry(DEMO_PRINCIPALS_FILE, TOPOLOGY, "local"))
# Reads of shipment data need a principal: the joint company (an operator) reads them all.
AS_OPERATOR = {"Authorization": "Bearer demo-mcm"}
AKTAU_DWELL = timedelta(days=6, hours=3)  # 7 started days - 4 free at Aktau = 3 days


def long_aktau_journey(shipment_id: str, start: datetime, seed: int = 7) -> list[Post]:
    """A CNAKL -> GEPTI container journey whose Aktau dwell is stretched to 6 d 3 h (every
    later event moves with it); customs holds and exceptions off."""
    options = JourneyOptions(
        origins=("CNAKL",),
        destinations=("GEPTI",),
        customs_hold_rate=0,
        exception_rate=0,
        estimate_rate=0,
    )
    while True:
        posts = plan_journey(random.Random(seed), TOPOLOGY, start, shipment_id, options)
        if posts[0].body["booking"]["container_type"] != "WAGON":
            break
        seed += 1

    def moment(kind: str) -> datetime:
        return next(
            p.occurred_at
            for p in posts
            if p.body["event_type"] == kind and p.body["location"] == "KZAAU"
        )

    arrived, departed = moment("ARRIVED"), moment("DEPARTED")
    shift = arrived + AKTAU_DWELL - departed
    stretched = []
    for post in posts:
        if post.occurred_at >= departed:
            when = post.occurred_at + shift
            post = Post(post.carrier, {**post.body, "occurred_at": when.isoformat()}, when)
        stretched.append(post)
    return stretched


def cargo_event(post: Post, recorded_at: datetime | None = None) -> events_pb2.CargoEvent:
    """What ingest publishes for a post (the carrier comes from the API key; recorded_at
    is when ingest received it: now unless given)."""
    body = post.body
    event = events_pb2.CargoEvent(
        event_id=body["event_id"],
        carrier=post.carrier,
        event_type=common_pb2.EventType.Value("EVENT_TYPE_" + body["event_type"]),
        classifier=common_pb2.Classifier.Value("CLASSIFIER_" + body.get("classifier", "ACT")),
        shipment_id=body["shipment_id"],
        container_no=body.get("container_no", ""),
        wagon_no=body.get("wagon_no", ""),
        location=body["location"],
        mode=common_pb2.Mode.Value("MODE_" + body.get("mode", "UNSPECIFIED")),
        reason=body.get("reason", ""),
    )
    event.occurred_at.FromDatetime(datetime.fromisoformat(body["occurred_at"]))
    event.recorded_at.FromDatetime(recorded_at or datetime.now(UTC))
    if "booking" in body:
        b = body["booking"]
        event.booking.origin = b["origin"]
        event.booking.destination = b["destination"]
        event.booking.container_type = common_pb2.ContainerType.Value(
            "CONTAINER_TYPE_" + b["container_type"]
        )
        event.booking.gross_weight_kg = float(b["gross_weight_kg"])
        for role, principal in b.get("parties", {}).items():
            setattr(event.booking.parties, role, principal)
        for leg in b.get("legs", []):
            event.booking.legs.add(**leg)
    return event


def record(topic: str, post: Post, recorded_at: datetime | None = None) -> OutgoingRecord:
    return cloudevent_record(
        topic,
        post.body["shipment_id"],
        cargo_event(post, recorded_at).SerializeToString(),
        ce_id=f"{post.carrier}/{post.event_id}",
        ce_type=CE_TYPE_CARGO_EVENT,
        source="/corridor/ingest",
        ce_time=datetime.now(UTC),
    )


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (database, broker, consumer) and a client to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tariff") as client:
            yield client


def charges_of(records: list[ConsumerRecord], shipment_id: str) -> list[charges_pb2.Charge]:
    return [
        charges_pb2.Charge.FromString(r.value) for r in records if r.key == shipment_id.encode()
    ]
