"""The protobuf edge: CargoEvent bytes to a ShipmentEvent, a charge document to Charge."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from corridor.contract.validation import ContractError
from corridor.v1 import charges_pb2, common_pb2, events_pb2
from services.tariff.contracts import decode_event, encode_charge
from services.tariff.documents import charge_doc
from services.tariff.events import BookingDetails
from services.tariff.rates import Dwell, QuoteRequest, final_charge, parse_card, price
from tests.unit.tariff_card_samples import small_card, small_topology

AT = datetime(2026, 6, 1, 8, 30, tzinfo=UTC)


def booked_event() -> events_pb2.CargoEvent:
    event = events_pb2.CargoEvent(
        event_id="S-1-001-booked",
        carrier="mcm",
        event_type=common_pb2.EVENT_TYPE_BOOKED,
        classifier=common_pb2.CLASSIFIER_ACT,
        shipment_id="S-1",
        location="CNAKL",
        booking=events_pb2.Booking(
            origin="CNAKL",
            destination="GEPTI",
            container_type=common_pb2.CONTAINER_TYPE_40HC,
            gross_weight_kg=24_000.5,
        ),
    )
    event.occurred_at.FromDatetime(AT)
    return event


def test_a_booked_event_decodes_with_its_booking() -> None:
    decoded = decode_event(booked_event().SerializeToString())
    assert (decoded.carrier, decoded.event_id, decoded.event_type) == (
        "mcm",
        "S-1-001-booked",
        "BOOKED",
    )
    assert decoded.actual
    assert decoded.occurred_at == AT
    assert decoded.booking == BookingDetails("CNAKL", "GEPTI", "40HC", Decimal("24000.5"))


def test_an_unspecified_classifier_is_refused_as_the_tracker_refuses_it() -> None:
    event = booked_event()
    event.classifier = common_pb2.CLASSIFIER_UNSPECIFIED
    with pytest.raises(ContractError, match="missing classifier"):
        decode_event(event.SerializeToString())


def test_an_estimate_is_not_actual() -> None:
    event = booked_event()
    event.classifier = common_pb2.CLASSIFIER_EST
    assert not decode_event(event.SerializeToString()).actual


def _without_carrier() -> bytes:
    event = booked_event()
    event.carrier = ""
    return event.SerializeToString()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "record has no value"),
        (b"", "missing occurred_at"),
        (b"\xff\x00garbage", "undecodable CargoEvent"),
        (_without_carrier(), "missing carrier"),
    ],
)
def test_what_is_not_a_usable_cargo_event_says_why(value: bytes | None, reason: str) -> None:
    with pytest.raises(ContractError, match=reason):
        decode_event(value)


def test_a_weight_that_is_not_a_finite_number_is_not_usable() -> None:
    event = booked_event()
    event.booking.gross_weight_kg = float("nan")
    with pytest.raises(ContractError, match=r"booking\.gross_weight_kg out of range"):
        decode_event(event.SerializeToString())


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("location", "X" * 17, "location longer than 16"),
        ("shipment_id", "S" * 65, "shipment_id longer than 64"),
        ("event_id", "a\x00b", "control character U\\+0000 in event_id"),
    ],
)
def test_text_that_could_not_be_stored_is_not_usable(field: str, value: str, reason: str) -> None:
    event = booked_event()
    setattr(event, field, value)
    with pytest.raises(ContractError, match=reason):
        decode_event(event.SerializeToString())


def test_a_time_out_of_range_is_not_usable() -> None:
    event = booked_event()
    event.occurred_at.seconds = 10**15
    with pytest.raises(ContractError, match="occurred_at out of range"):
        decode_event(event.SerializeToString())


def test_a_charge_document_encodes_to_a_charge_whose_lines_add_up() -> None:
    topology = small_topology()
    card = parse_card(small_card(), "small.yaml", topology)
    booked = price(
        card,
        topology,
        QuoteRequest("KZAAA", "AZRRR", "40HC", Decimal(24000), AT.date()),
    )
    charge = final_charge(
        booked,
        card,
        topology,
        [Dwell("KZPPP", AT, datetime(2026, 6, 6, tzinfo=UTC))],
        charge_id="c-1",
        shipment_id="S-1",
        booked_at=AT,
        delivered_at=AT,
        computed_at=AT,
    )
    decoded = charges_pb2.Charge.FromString(encode_charge(charge_doc(charge)))
    assert (decoded.charge_id, decoded.shipment_id, decoded.currency) == ("c-1", "S-1", "USD")
    assert decoded.container_type == common_pb2.CONTAINER_TYPE_40HC
    assert decoded.total == str(charge.total)
    assert [leg.mode for leg in decoded.legs][:3] == [
        common_pb2.MODE_RAIL,
        common_pb2.MODE_RAIL,
        common_pb2.MODE_UNSPECIFIED,  # handling at KZPPP
    ]
    storage = [s for s in decoded.surcharges if s.kind == "storage"]
    assert [(s.node, s.operator, s.days, s.amount) for s in storage] == [
        ("KZPPP", "PORTX", 2, "40.00")  # 4 d 15.5 h = 5 started days - 3 free
    ]
    lines = [Decimal(x.amount) for x in decoded.legs] + [
        Decimal(s.amount) for s in decoded.surcharges
    ]
    assert sum(lines) == Decimal(decoded.total)  # the discount is a negative line
    assert sum(Decimal(a.amount) for a in decoded.apportionment) == Decimal(decoded.total)
    assert decoded.computed_at.ToDatetime(tzinfo=UTC) == AT
