"""The edge where records become the webhooks service's plain values: ``ShipmentState``
bytes (cargo.shipments.v1) and bookings of ``CargoEvent`` (cargo.events.v1, through the
one event contract, ``corridor.contract``). The one place generated protobuf code is read.

A delivery's body is the state in the protobuf JSON mapping with the contract's field
names (``shipment_id``, ``last_event``, ...), enums by their full names
(``SHIPMENT_STATUS_IN_TRANSIT``), 64-bit integers as strings, times in RFC 3339 UTC.
"""

from __future__ import annotations

import json
from collections.abc import Container
from datetime import datetime
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import DecodeError

from corridor.contract.codec import decode
from corridor.contract.enums import EVENT_TYPE
from corridor.contract.validation import ContractError
from corridor.kafka import CE_TYPE_SHIPMENT_STATE
from corridor.parties import BookingClaim, BookingFacts, Leg, facts_of_booking
from corridor.v1 import shipments_pb2
from services.webhooks.domain import StateFacts

STATUS_PREFIX = "SHIPMENT_STATUS_"


class StateError(ValueError):
    """A cargo.shipments.v1 record that is not a ``ShipmentState`` with a shipment id."""


def parse_state(value: bytes | None) -> shipments_pb2.ShipmentState:
    if not value:
        raise StateError("record has no value")
    try:
        state = shipments_pb2.ShipmentState.FromString(value)
    except DecodeError as exc:
        raise StateError(f"undecodable ShipmentState: {exc}") from None
    if not state.shipment_id:
        raise StateError("ShipmentState without shipment_id")
    return state


def state_facts(state: shipments_pb2.ShipmentState) -> StateFacts:
    status = shipments_pb2.ShipmentStatus.Name(state.status).removeprefix(STATUS_PREFIX)
    last = state.last_event if state.HasField("last_event") else None
    event_type = EVENT_TYPE.by_number.get(last.event_type, "") if last is not None else ""
    locations = {state.current_location, last.location if last is not None else ""} - {""}
    return StateFacts(state.shipment_id, status, event_type, frozenset(locations))


def delivery_body(
    delivery_id: str,
    subscription_id: str,
    state: shipments_pb2.ShipmentState,
    created_at: datetime,
) -> str:
    """The raw JSON body of one delivery (docs/webhooks.md, "Deliveries")."""
    doc: dict[str, Any] = {
        "id": delivery_id,
        "type": CE_TYPE_SHIPMENT_STATE,
        "subscription_id": subscription_id,
        "shipment_id": state.shipment_id,
        "version": state.version,
        "created_at": created_at.isoformat().replace("+00:00", "Z"),
        "data": MessageToDict(state, preserving_proto_field_name=True),
    }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def booking_claim(
    value: bytes | None, nodes: Container[str]
) -> tuple[str, BookingClaim[BookingFacts]] | None:
    """The shipment and the booking an event claims, if it is an actual booking; ``None``
    for any other event, and for a record that breaks the contract (the tracker
    dead-letters those)."""
    try:
        event = decode(value, nodes)
    except ContractError:
        return None
    if event.event_type != "BOOKED" or event.classifier != "ACT" or event.booking is None:
        return None
    facts = facts_of_booking(event.carrier, event.occurred_at, event.booking)
    claim = BookingClaim(event.carrier, event.event_id, event.occurred_at, event.recorded_at, facts)
    return event.shipment_id, claim


def facts_doc(facts: BookingFacts) -> dict[str, Any]:
    return {
        "origin": facts.origin,
        "destination": facts.destination,
        "legs": [[g.carrier, g.origin, g.destination] for g in facts.legs],
        "parties": dict(facts.parties),
    }


def facts_from_doc(carrier: str, occurred_at: datetime, doc: dict[str, Any]) -> BookingFacts:
    return BookingFacts(
        booker=carrier,
        origin=str(doc["origin"]),
        destination=str(doc["destination"]),
        booked_at=occurred_at,
        legs=tuple(Leg(*(str(x) for x in leg)) for leg in doc.get("legs", ())),
        parties={str(k): str(v) for k, v in dict(doc.get("parties", {})).items()},
    )
