"""The event contract (``corridor.contract``): encode and decode are inverse, every refusal
names its field and reason, and ingest's HTTP schema enforces the contract's limits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from corridor.contract import enums, limits
from corridor.contract.codec import decode, encode, to_message
from corridor.contract.event import BookingData, CargoEventData
from corridor.contract.timestamps import moment, timestamp
from corridor.contract.validation import ContractError, validate
from corridor.parties import Leg
from corridor.topology import load_topology
from corridor.v1 import events_pb2
from services.ingest import schemas

NODES = load_topology().nodes
AT = datetime(2026, 6, 1, 8, 30, 15, 123456, tzinfo=UTC)


def booked() -> CargoEventData:
    return CargoEventData(
        event_id="S-1-booked",
        carrier="mcm",
        event_type="BOOKED",
        classifier="ACT",
        occurred_at=AT,
        shipment_id="S-1",
        location="CNAKL",
        recorded_at=AT + timedelta(seconds=2),
        container_no="MSCU6639870",
        mode="RAIL",
        booking=BookingData(
            origin="CNAKL",
            destination="GEPTI",
            container_type="40HC",
            gross_weight_kg=24_000.5,
            cargo_description="tiles",
            hs_code="690721",
            promised_delivery_at=AT + timedelta(days=20),
            shipper="shipper-xian",
            forwarder="fwd-one",
            legs=(Leg("ktz", "KZAAU", ""), Leg("port-aktau")),
        ),
    )


def test_an_event_round_trips_through_its_bytes() -> None:
    event = booked()
    assert decode(encode(event), NODES) == event
    assert encode(event) == encode(decode(encode(event), NODES))  # deterministic bytes
    assert event.booking is not None
    assert event.booking.parties == {"shipper": "shipper-xian", "forwarder": "fwd-one"}


def test_a_time_converts_exactly_to_the_microsecond_both_ways() -> None:
    stamp = timestamp(AT)
    assert (stamp.seconds, stamp.nanos) == (int(AT.timestamp()), 123_456_000)
    assert moment(stamp) == AT
    stamp.nanos += 999  # nanoseconds a datetime cannot hold are truncated
    assert moment(stamp) == AT


Change = Callable[[events_pb2.CargoEvent], object]


def _set(name: str, value: object) -> Change:
    return lambda m: setattr(m, name, value)


def _booking(name: str, value: object) -> Change:
    return lambda m: setattr(m.booking, name, value)


# Every refusal: what breaks the record, the field at fault, the reason code, the message.
REFUSALS: list[tuple[Change, str, str, str]] = [
    (_set("event_id", ""), "event_id", "missing", "missing event_id"),
    (_set("carrier", ""), "carrier", "missing", "missing carrier"),
    (_set("shipment_id", ""), "shipment_id", "missing", "missing shipment_id"),
    (_set("location", ""), "location", "missing", "missing location"),
    (lambda m: m.ClearField("occurred_at"), "occurred_at", "missing", "missing occurred_at"),
    (_set("event_type", 0), "event_type", "missing", "missing event_type"),
    (_set("classifier", 0), "classifier", "missing", "missing classifier"),
    (lambda m: m.ClearField("booking"), "booking", "missing", "missing booking on BOOKED"),
    (_booking("origin", ""), "booking.origin", "missing", "missing booking.origin"),
    (_booking("container_type", 0), "booking.container_type", "missing",
     "missing booking.container_type"),
    (lambda m: m.booking.legs.add(), "booking.legs[2].carrier", "missing",
     "missing booking.legs[2].carrier"),
    (_set("event_id", "e" * 129), "event_id", "too_long", "event_id longer than 128 characters"),
    (_set("carrier", "c" * 33), "carrier", "too_long", "carrier longer than 32 characters"),
    (_set("shipment_id", "S" * 65), "shipment_id", "too_long",
     "shipment_id longer than 64 characters"),
    (_set("container_no", "C" * 33), "container_no", "too_long",
     "container_no longer than 32 characters"),
    (_set("reason", "r" * 501), "reason", "too_long", "reason longer than 500 characters"),
    (_set("location", "L" * 17), "location", "too_long", "location longer than 16 characters"),
    (_booking("cargo_description", "d" * 501), "booking.cargo_description", "too_long",
     "booking.cargo_description longer than 500 characters"),
    (lambda m: m.booking.legs.extend([events_pb2.BookingLeg(carrier="ktz")] * 15),
     "booking.legs", "too_long", "booking.legs more than 16 legs"),
    (_set("event_id", "a\x00b"), "event_id", "forbidden_character",
     "control character U+0000 in event_id"),
    (_set("reason", "tab\there"), "reason", "forbidden_character",
     "control character U+0009 in reason"),
    (_set("wagon_no", "12\x85"), "wagon_no", "forbidden_character",
     "control character U+0085 in wagon_no"),
    (_set("reason", "evil \u202e"), "reason", "forbidden_character",
     "control character U+202E in reason"),
    (_set("event_id", "   "), "event_id", "blank", "blank event_id"),
    (_set("carrier", "Not An Id"), "carrier", "format", "carrier is not a principal id"),
    (_set("shipment_id", "-S1"), "shipment_id", "format", "shipment_id is not a shipment id"),
    (lambda m: setattr(m.booking.parties, "consignee", "X"), "booking.parties.consignee",
     "format", "booking.parties.consignee is not a principal id"),
    (_booking("hs_code", "12"), "booking.hs_code", "format", "booking.hs_code is not an HS code"),
    (_set("event_type", 99), "event_type", "unknown_value", "unknown event_type 99"),
    (_set("classifier", 7), "classifier", "unknown_value", "unknown classifier 7"),
    (_set("mode", 9), "mode", "unknown_value", "unknown mode 9"),
    (_booking("container_type", 42), "booking.container_type", "unknown_value",
     "unknown booking.container_type 42"),
    (_set("location", "XXZZZ"), "location", "unknown_node", "unknown node 'XXZZZ' in location"),
    (_booking("destination", "FRPAR"), "booking.destination", "unknown_node",
     "unknown node 'FRPAR' in booking.destination"),
    (lambda m: setattr(m.booking.legs[0], "origin", "ZZ"), "booking.legs[0].origin",
     "unknown_node", "unknown node 'ZZ' in booking.legs[0].origin"),
    (lambda m: setattr(m.occurred_at, "seconds", -(10**9)), "occurred_at", "out_of_range",
     "occurred_at out of range"),
    (lambda m: setattr(m.occurred_at, "seconds", 10**15), "occurred_at", "out_of_range",
     "occurred_at out of range"),
    (lambda m: setattr(m.recorded_at, "seconds", 4_200_000_000), "recorded_at", "out_of_range",
     "recorded_at out of range"),
    (lambda m: setattr(m.booking.promised_delivery_at, "seconds", 1),
     "booking.promised_delivery_at", "out_of_range", "booking.promised_delivery_at out of range"),
    (_booking("gross_weight_kg", float("nan")), "booking.gross_weight_kg", "out_of_range",
     "booking.gross_weight_kg out of range"),
    (_booking("gross_weight_kg", 0.0), "booking.gross_weight_kg", "out_of_range",
     "booking.gross_weight_kg out of range"),
    (_booking("gross_weight_kg", 1e9), "booking.gross_weight_kg", "out_of_range",
     "booking.gross_weight_kg out of range"),
    (_set("event_type", enums.EVENT_TYPE.by_name["DEPARTED"]), "booking", "not_allowed",
     "booking on DEPARTED"),
]  # fmt: skip


def refused(change: Change) -> bytes:
    message = to_message(booked())
    change(message)
    return message.SerializeToString()


@pytest.mark.parametrize(("change", "field", "reason", "message"), REFUSALS)
def test_every_refusal_names_its_field_and_reason(
    change: Change, field: str, reason: str, message: str
) -> None:
    with pytest.raises(ContractError) as caught:
        decode(refused(change), NODES)
    assert (caught.value.field, caught.value.reason, str(caught.value)) == (field, reason, message)


@pytest.mark.parametrize(
    ("value", "reason", "message"),
    [
        (None, "no_value", "record has no value"),
        (b"\xff\xff\xff not protobuf", "undecodable", "undecodable CargoEvent: "),
    ],
)
def test_what_is_no_cargo_event_is_refused_as_a_whole(
    value: bytes | None, reason: str, message: str
) -> None:
    with pytest.raises(ContractError) as caught:
        decode(value, NODES)
    assert (caught.value.field, caught.value.reason) == ("", reason)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"occurred_at": datetime(2026, 1, 1)}, "occurred_at", "format"),
        ({"event_type": "SAILED"}, "event_type", "unknown_value"),
        ({"mode": "AIR"}, "mode", "unknown_value"),
    ],
)
def test_a_value_built_by_another_input_is_judged_by_the_same_rules(
    changes: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(ContractError) as caught:
        validate(booked()._replace(**changes), NODES)
    assert (caught.value.field, caught.value.reason) == (field, reason)


def _schema_max(model: type[BaseModel], name: str) -> int:
    prop = model.model_json_schema()["properties"][name]
    options = prop.get("anyOf", [prop])
    return int(next(o["maxLength"] for o in options if "maxLength" in o))


def test_ingest_enforces_the_contracts_limits_and_names() -> None:
    """Ingest's HTTP schema is where carriers meet the limits: they are the contract's."""
    assert _schema_max(schemas.EventIn, "event_id") == limits.EVENT_ID
    assert _schema_max(schemas.EventIn, "shipment_id") == limits.SHIPMENT_ID
    assert _schema_max(schemas.EventIn, "container_no") == limits.EQUIPMENT_NO
    assert _schema_max(schemas.EventIn, "wagon_no") == limits.EQUIPMENT_NO
    assert _schema_max(schemas.EventIn, "reason") == limits.REASON
    assert _schema_max(schemas.EventIn, "location") == limits.NODE_CODE
    assert _schema_max(schemas.BookingIn, "cargo_description") == limits.CARGO_DESCRIPTION
    assert _schema_max(schemas.LegIn, "carrier") == limits.PRINCIPAL_ID
    assert _schema_max(schemas.PartiesIn, "shipper") == limits.PRINCIPAL_ID
    assert schemas.MAX_LEGS == limits.MAX_LEGS
    assert schemas.MAX_GROSS_WEIGHT_KG == limits.MAX_GROSS_WEIGHT_KG
    assert enums.EVENT_TYPE.names == schemas.EVENT_TYPES
    assert set(schemas.Classifier.__args__) == enums.CLASSIFIER.names  # type: ignore[attr-defined]
    assert set(schemas.Mode.__args__) == enums.MODE.names  # type: ignore[attr-defined]
    assert set(schemas.ContainerType.__args__) == enums.CONTAINER_TYPE.names  # type: ignore[attr-defined]


# Valid values of every kind, for the property test.
TEXT = st.characters(blacklist_categories=("Cc", "Cf", "Zl", "Zp", "Cs"))
PRINCIPAL = st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,31}\Z")
NODE = st.sampled_from(sorted(NODES))
MOMENT = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2099, 12, 31, 23, 59, 59, 999_999),
    timezones=st.just(UTC),
)


def text(limit: int) -> st.SearchStrategy[str]:
    return st.text(TEXT, max_size=limit).filter(lambda t: not t.isspace())


def required(limit: int) -> st.SearchStrategy[str]:
    return st.text(TEXT, min_size=1, max_size=limit).filter(lambda t: not t.isspace())


BOOKINGS = st.builds(
    BookingData,
    origin=NODE,
    destination=NODE,
    container_type=st.sampled_from(sorted(enums.CONTAINER_TYPE.names)),
    gross_weight_kg=st.floats(0, limits.MAX_GROSS_WEIGHT_KG, exclude_min=True),
    cargo_description=text(limits.CARGO_DESCRIPTION),
    hs_code=st.just("") | st.from_regex(r"\A[0-9]{4}(?:[0-9]{2}){0,3}\Z"),
    promised_delivery_at=st.none() | MOMENT,
    shipper=st.just("") | PRINCIPAL,
    consignee=st.just("") | PRINCIPAL,
    forwarder=st.just("") | PRINCIPAL,
    legs=st.lists(
        st.builds(Leg, PRINCIPAL, st.just("") | NODE, st.just("") | NODE), max_size=16
    ).map(tuple),
)


@st.composite
def events(draw: st.DrawFn) -> CargoEventData:
    event_type = draw(st.sampled_from(sorted(enums.EVENT_TYPE.names)))
    return CargoEventData(
        event_id=draw(required(limits.EVENT_ID)),
        carrier=draw(PRINCIPAL),
        event_type=event_type,
        classifier=draw(st.sampled_from(sorted(enums.CLASSIFIER.names))),
        occurred_at=draw(MOMENT),
        shipment_id=draw(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")),
        location=draw(NODE),
        recorded_at=draw(st.none() | MOMENT),
        container_no=draw(text(limits.EQUIPMENT_NO)),
        wagon_no=draw(text(limits.EQUIPMENT_NO)),
        mode=draw(st.sampled_from(["", *sorted(enums.MODE.names)])),
        reason=draw(text(limits.REASON)),
        booking=draw(BOOKINGS) if event_type == "BOOKED" else None,
    )


@given(events())
def test_every_valid_value_is_valid_and_survives_its_bytes(event: CargoEventData) -> None:
    assert validate(event, NODES) is event
    assert decode(encode(event), NODES) == event
