"""The rules of ``services.ingest.domain``, on hand-made events."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from corridor.parties import Leg, TrustRules
from corridor.principals import DEMO_PRINCIPALS_FILE, Principal, Role, load_registry
from corridor.topology import load_topology
from services.ingest.domain import (
    ReportedBooking,
    ReportedEvent,
    Rules,
    Violation,
    check,
)
from services.ingest.outcomes import Verdict, verdict_of
from tests.unit.test_ingest_support import CONTAINER_NO, NOW, WAGON_NO_8, WAGON_NO_12

TOPOLOGY = load_topology()
RULES = Rules(
    TOPOLOGY, TrustRules(TOPOLOGY, load_registry(DEMO_PRINCIPALS_FILE, TOPOLOGY, "local"))
)
KTZ = Principal("ktz", "KTZ", Role.CARRIER, frozenset({"KZAKL", "KZDSK", "KZAAU"}))
MCM = Principal("mcm", "MCM", Role.OPERATOR, frozenset(TOPOLOGY.nodes), may_book=True)

DEPARTED = ReportedEvent(
    event_id="ktz-1",
    event_type="DEPARTED",
    occurred_at=NOW - timedelta(hours=2),
    shipment_id="MCM-1",
    location="KZAKL",
    container_no=CONTAINER_NO,
    mode="RAIL",
)
BOOKING = ReportedBooking("CNHRS", "GEPTI", "40HC", 24_000.0)
BOOKED = replace(DEPARTED, event_type="BOOKED", location="CNHRS", booking=BOOKING)


def fields(violations: list[Violation]) -> list[tuple[str, str]]:
    return [(v.field, v.code) for v in violations]


def test_a_valid_container_event_passes() -> None:
    assert check(DEPARTED, KTZ, RULES, NOW) == []


@pytest.mark.parametrize("wagon_no", [WAGON_NO_8, WAGON_NO_12])
def test_a_valid_wagon_event_passes(wagon_no: str) -> None:
    event = replace(DEPARTED, container_no=None, wagon_no=wagon_no)
    assert check(event, KTZ, RULES, NOW) == []


def test_a_container_number_with_a_wrong_check_digit_is_refused() -> None:
    event = replace(DEPARTED, container_no="MSCU6639871")
    [violation] = check(event, KTZ, RULES, NOW)
    assert (violation.field, violation.code) == ("container_no", "check_digit")
    assert "should be 0" in violation.message


@pytest.mark.parametrize("value", ["MSCU663987", "MSCX6639870", "mscu6639870", "1234"])
def test_a_malformed_container_number_is_refused(value: str) -> None:
    assert fields(check(replace(DEPARTED, container_no=value), KTZ, RULES, NOW)) == [
        ("container_no", "format")
    ]


def test_a_wagon_number_with_a_wrong_check_digit_is_refused() -> None:
    event = replace(DEPARTED, container_no=None, wagon_no=WAGON_NO_8[:-1] + "1")
    assert fields(check(event, KTZ, RULES, NOW)) == [("wagon_no", "check_digit")]


def test_a_wagon_number_of_another_length_is_refused() -> None:
    event = replace(DEPARTED, container_no=None, wagon_no="1234567890")
    assert fields(check(event, KTZ, RULES, NOW)) == [("wagon_no", "format")]


def test_both_a_container_and_a_wagon_number_are_refused_naming_both() -> None:
    event = replace(DEPARTED, wagon_no=WAGON_NO_8)
    assert fields(check(event, KTZ, RULES, NOW)) == [
        ("container_no", "conflict"),
        ("wagon_no", "conflict"),
    ]


def test_an_event_without_equipment_is_refused() -> None:
    event = replace(DEPARTED, container_no=None)
    assert fields(check(event, KTZ, RULES, NOW)) == [("container_no", "missing")]


def test_a_location_that_is_not_a_corridor_node_is_refused() -> None:
    event = replace(DEPARTED, location="DEHAM")
    assert fields(check(event, KTZ, RULES, NOW)) == [("location", "unknown_node")]


def test_an_event_up_to_a_day_ahead_passes_and_beyond_is_refused() -> None:
    assert check(replace(DEPARTED, occurred_at=NOW + timedelta(days=1)), KTZ, RULES, NOW) == []
    later = replace(DEPARTED, occurred_at=NOW + timedelta(days=1, seconds=1))
    assert fields(check(later, KTZ, RULES, NOW)) == [("occurred_at", "in_future")]


def test_the_future_bound_is_configurable() -> None:
    rules = replace(RULES, max_future=timedelta(minutes=5))
    event = replace(DEPARTED, occurred_at=NOW + timedelta(minutes=6))
    assert fields(check(event, KTZ, rules, NOW)) == [("occurred_at", "in_future")]


@pytest.mark.parametrize(
    "moment", [datetime(1999, 12, 31, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC)]
)
def test_absurd_times_are_refused(moment: datetime) -> None:
    event = replace(DEPARTED, occurred_at=moment)
    assert ("occurred_at", "out_of_range") in fields(check(event, KTZ, RULES, NOW))


def test_a_booking_is_required_on_booked() -> None:
    event = replace(BOOKED, booking=None)
    assert fields(check(event, MCM, RULES, NOW)) == [("booking", "missing")]


def test_a_booking_is_refused_on_other_events() -> None:
    event = replace(DEPARTED, booking=BOOKING)
    assert fields(check(event, KTZ, RULES, NOW)) == [("booking", "not_allowed")]


def test_a_valid_booking_passes_for_the_booker() -> None:
    assert check(BOOKED, MCM, RULES, NOW) == []


def test_booking_nodes_must_be_corridor_nodes() -> None:
    booking = replace(BOOKING, origin="CNSHA", destination="DEHAM")
    event = replace(BOOKED, booking=booking)
    assert fields(check(event, MCM, RULES, NOW)) == [
        ("booking.origin", "unknown_node"),
        ("booking.destination", "unknown_node"),
    ]


def test_a_booking_must_go_somewhere_else() -> None:
    event = replace(BOOKED, booking=replace(BOOKING, destination="CNHRS"))
    assert fields(check(event, MCM, RULES, NOW)) == [("booking.destination", "same_as_origin")]


def test_a_wagon_load_is_booked_with_a_wagon_number_and_a_container_with_a_container_number() -> (
    None
):
    wagon_load = replace(BOOKED, booking=replace(BOOKING, container_type="WAGON"))
    assert fields(check(wagon_load, MCM, RULES, NOW)) == [
        ("booking.container_type", "equipment_mismatch")
    ]
    container_on_wagon_no = replace(BOOKED, container_no=None, wagon_no=WAGON_NO_8)
    assert fields(check(container_on_wagon_no, MCM, RULES, NOW)) == [
        ("booking.container_type", "equipment_mismatch")
    ]
    proper = replace(wagon_load, container_no=None, wagon_no=WAGON_NO_12)
    assert check(proper, MCM, RULES, NOW) == []


def test_a_promised_delivery_in_another_century_is_refused() -> None:
    booking = replace(BOOKING, promised_delivery_at=datetime(2200, 1, 1, tzinfo=UTC))
    assert fields(check(replace(BOOKED, booking=booking), MCM, RULES, NOW)) == [
        ("booking.promised_delivery_at", "out_of_range")
    ]


@pytest.mark.parametrize("event_type", ["EXCEPTION", "CUSTOMS_HOLD"])
def test_a_reason_is_required_for_exceptions_and_customs_holds(event_type: str) -> None:
    event = replace(DEPARTED, event_type=event_type)
    assert fields(check(event, KTZ, RULES, NOW)) == [("reason", "missing")]
    assert check(replace(event, reason="inspection"), KTZ, RULES, NOW) == []


def test_a_carrier_may_not_report_where_it_does_not_operate() -> None:
    event = replace(DEPARTED, location="AZBAK")
    violations = check(event, KTZ, RULES, NOW)
    assert fields(violations) == [("location", "not_operated")]
    assert verdict_of(violations) is Verdict.FORBIDDEN


def test_only_a_carrier_with_the_booking_right_may_book() -> None:
    event = replace(BOOKED, location="KZAKL")
    violations = check(event, KTZ, RULES, NOW)
    assert fields(violations) == [("event_type", "may_not_book")]
    assert verdict_of(violations) is Verdict.FORBIDDEN


def test_invalid_content_is_reported_before_missing_rights() -> None:
    event = replace(DEPARTED, location="AZBAK", container_no="MSCU6639871")
    violations = check(event, KTZ, RULES, NOW)
    assert fields(violations) == [("container_no", "check_digit")]
    assert verdict_of(violations) is Verdict.INVALID


def test_every_content_violation_is_reported_at_once() -> None:
    event = replace(
        DEPARTED,
        event_type="EXCEPTION",
        container_no="MSCU6639871",
        location="XXXXX",
        occurred_at=NOW + timedelta(days=3),
    )
    assert fields(check(event, KTZ, RULES, NOW)) == [
        ("container_no", "check_digit"),
        ("location", "unknown_node"),
        ("occurred_at", "in_future"),
        ("reason", "missing"),
    ]


@pytest.mark.parametrize(
    ("container_type", "limit"),
    [("20GP", 36_000), ("40GP", 36_000), ("40HC", 36_000), ("45HC", 36_000), ("WAGON", 150_000)],
)
def test_a_booking_weighs_at_most_the_maximum_gross_mass_of_its_type(
    container_type: str, limit: int
) -> None:
    wagon = container_type == "WAGON"
    for weight, fine in ((limit, True), (limit + 0.5, False)):
        booking = replace(BOOKING, container_type=container_type, gross_weight_kg=weight)
        event = replace(BOOKED, booking=booking)
        if wagon:
            event = replace(event, container_no=None, wagon_no=WAGON_NO_8)
        expected = [] if fine else [("booking.gross_weight_kg", "over_max_gross_mass")]
        assert fields(check(event, MCM, RULES, NOW)) == expected, (container_type, weight)


def test_an_event_older_than_the_maximum_age_is_refused_naming_occurred_at() -> None:
    old = replace(DEPARTED, occurred_at=NOW - timedelta(days=30, seconds=1))
    assert fields(check(old, KTZ, RULES, NOW)) == [("occurred_at", "too_old")]
    recent = replace(DEPARTED, occurred_at=NOW - timedelta(days=29))
    assert check(recent, KTZ, RULES, NOW) == []
    stricter = replace(RULES, trust=replace(RULES.trust, max_age=timedelta(days=1)))
    assert fields(check(recent, KTZ, stricter, NOW)) == [("occurred_at", "too_old")]


def test_named_parties_must_be_principals_of_the_role_party() -> None:
    parties = {"shipper": "shipper-xian", "consignee": "nobody", "forwarder": "ktz"}
    event = replace(BOOKED, booking=replace(BOOKING, parties=parties))
    assert fields(check(event, MCM, RULES, NOW)) == [
        ("booking.parties.consignee", "unknown_principal"),
        ("booking.parties.forwarder", "not_a_party_principal"),
    ]


def test_leg_carriers_must_post_events_and_leg_ends_be_corridor_nodes() -> None:
    legs = (Leg("ady"), Leg("nobody"), Leg("customs-kz"), Leg("gr", "GETBS", "XXXXX"))
    event = replace(BOOKED, booking=replace(BOOKING, legs=legs))
    assert fields(check(event, MCM, RULES, NOW)) == [
        ("booking.legs.1.carrier", "unknown_principal"),
        ("booking.legs.2.carrier", "not_a_carrier"),
        ("booking.legs.3.destination", "unknown_node"),
    ]
