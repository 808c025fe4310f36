"""Journey posts as the tracker receives them (CargoEvent protobuf), shared by the tracker's
tests, and the checks that the translation is faithful."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from corridor.journeys import JourneyOptions, Post, plan_journey
from corridor.parties import TrustRules
from corridor.principals import DEMO_PRINCIPALS_FILE, load_registry
from corridor.topology import load_topology
from corridor.v1 import common_pb2, events_pb2
from services.tracker.consumer import decode
from services.tracker.domain import Event, EventType
from services.tracker.publication import timestamp

TOPOLOGY = load_topology()
# The trust rules over the demo principals (docs/security.md), with their default windows.
RULES = TrustRules(TOPOLOGY, load_registry(DEMO_PRINCIPALS_FILE, TOPOLOGY, "local"))
START = datetime(2026, 10, 1, tzinfo=UTC)


def cargo_event(post: Post, recorded_at: datetime | None = None) -> events_pb2.CargoEvent:
    """What ingest publishes for ``post`` (the carrier comes from the API key)."""
    body = post.body
    message = events_pb2.CargoEvent(
        event_id=body["event_id"],
        carrier=post.carrier,
        event_type=common_pb2.EventType.Value("EVENT_TYPE_" + body["event_type"]),
        classifier=common_pb2.Classifier.Value("CLASSIFIER_" + body.get("classifier", "ACT")),
        occurred_at=timestamp(datetime.fromisoformat(body["occurred_at"])),
        recorded_at=timestamp(recorded_at or post.occurred_at),
        shipment_id=body["shipment_id"],
        container_no=body.get("container_no", ""),
        wagon_no=body.get("wagon_no", ""),
        location=body["location"],
        mode=common_pb2.Mode.Value("MODE_" + body.get("mode", "UNSPECIFIED")),
        reason=body.get("reason", ""),
    )
    booking = body.get("booking")
    if booking is not None:
        message.booking.CopyFrom(
            events_pb2.Booking(
                origin=booking["origin"],
                destination=booking["destination"],
                container_type=common_pb2.ContainerType.Value(
                    "CONTAINER_TYPE_" + booking["container_type"]
                ),
                gross_weight_kg=booking["gross_weight_kg"],
                cargo_description=booking.get("cargo_description", ""),
                hs_code=booking.get("hs_code", ""),
                promised_delivery_at=timestamp(
                    datetime.fromisoformat(booking["promised_delivery_at"])
                ),
                parties=events_pb2.BookingParties(**booking.get("parties", {})),
                legs=[events_pb2.BookingLeg(**leg) for leg in booking.get("legs", ())],
            )
        )
    return message


def domain_event(post: Post, recorded_at: datetime | None = None) -> Event:
    """``post`` as the tracker's consumer decodes it."""
    return decode(cargo_event(post, recorded_at).SerializeToString(), TOPOLOGY)


def journey(
    seed: int,
    shipment_id: str,
    start: datetime = START,
    options: JourneyOptions | None = None,
) -> list[Post]:
    return plan_journey(random.Random(seed), TOPOLOGY, start, shipment_id, options)


def journey_events(seed: int, shipment_id: str, start: datetime = START) -> list[Event]:
    return [domain_event(p) for p in journey(seed, shipment_id, start)]


def test_a_journey_post_decodes_to_the_event_the_carrier_reported() -> None:
    posts = journey(1, "SAMPLE-1", options=JourneyOptions(estimate_rate=1.0))
    for post in posts:
        event = domain_event(post)
        assert event.key == (post.carrier, post.body["event_id"])
        assert event.event_type == EventType(post.body["event_type"])
        assert event.occurred_at == datetime.fromisoformat(post.body["occurred_at"])
        assert event.location == post.body["location"]
        assert event.mode == post.body.get("mode", "")
    booked = domain_event(posts[0])
    assert booked.booking is not None
    assert booked.booking.destination == posts[0].body["booking"]["destination"]
    promised = datetime.fromisoformat(posts[0].body["booking"]["promised_delivery_at"])
    assert booked.booking.promised_delivery_at == promised


def test_journeys_start_with_a_booking_and_end_with_a_delivery() -> None:
    events = journey_events(2, "SAMPLE-2", START + timedelta(days=1))
    ordered = sorted(events, key=lambda e: e.order)
    assert ordered[0].event_type is EventType.BOOKED
    assert [e for e in ordered if e.classifier.value == "ACT"][-1].event_type is (
        EventType.DELIVERED
    )
