"""DCSA Track & Trace v2.2 events as native events (``services.ingest.standards.dcsa``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.ingest.standards.common import Mapped, Unmapped
from services.ingest.standards.dcsa import map_event
from tests.unit.standards_samples import CONTAINER, dcsa_event

AT = datetime(2026, 11, 2, 3, 30, tzinfo=UTC)


def mapped(raw: Any) -> Mapped:
    result = map_event(raw)
    assert isinstance(result, Mapped), result
    return result


def errors(raw: Any) -> dict[str, str]:
    result = map_event(raw)
    assert isinstance(result, Unmapped), result
    return {v.field: v.code for v in result.violations}


@pytest.mark.parametrize(
    ("code", "event_type"),
    [
        ("LOAD", "LOADED"),
        ("DISC", "DISCHARGED"),
        ("GTIN", "GATE_IN"),
        ("GTOT", "GATE_OUT"),
        ("CROS", "BORDER_CROSSED"),
        ("CUSI", "CUSTOMS_HOLD"),
        ("CUSS", "CUSTOMS_HOLD"),
        ("CUSR", "CUSTOMS_RELEASED"),
    ],
)
def test_equipment_events(code: str, event_type: str) -> None:
    result = mapped(dcsa_event(AT, equipmentEventTypeCode=code))
    body = result.body
    assert body["event_type"] == event_type
    assert body["container_no"] == CONTAINER
    assert body["location"] == "KZAAU"
    assert body["mode"] == "VESSEL"
    assert body["shipment_id"] == "MCM-2026-00042"  # BKG before TRD
    assert body["occurred_at"] == AT.isoformat()
    assert result.fields["location"] == "transportCall.UNLocationCode"
    assert ("reason" in body) == (event_type == "CUSTOMS_HOLD")


@pytest.mark.parametrize(("code", "event_type"), [("ARRI", "ARRIVED"), ("DEPA", "DEPARTED")])
@pytest.mark.parametrize("classifier", ["PLN", "EST", "ACT"])
def test_transport_events_with_each_classifier(code: str, event_type: str, classifier: str) -> None:
    raw = dcsa_event(
        AT,
        eventType="TRANSPORT",
        equipmentEventTypeCode=None,
        transportEventTypeCode=code,
        eventClassifierCode=classifier,
    )
    body = mapped(raw).body
    assert (body["event_type"], body["classifier"]) == (event_type, classifier)


def test_a_transport_event_may_name_its_container_in_an_eq_reference() -> None:
    raw = dcsa_event(
        AT,
        eventType="TRANSPORT",
        equipmentEventTypeCode=None,
        transportEventTypeCode="ARRI",
        equipmentReference=None,
        references=[{"referenceType": "EQ", "referenceValue": CONTAINER}],
    )
    result = mapped(raw)
    assert result.body["container_no"] == CONTAINER
    assert result.fields["container_no"] == "references.0.referenceValue"


def test_modes_wagons_trd_and_the_event_location() -> None:
    rail = dcsa_event(
        AT,
        transportCall={"UNLocationCode": "AZBAK", "modeOfTransport": "RAIL"},
        equipmentReference="51800209",
        documentReferences=[{"documentReferenceType": "TRD", "documentReferenceValue": "BL-9"}],
    )
    body = mapped(rail).body
    assert (body["mode"], body["wagon_no"], body["shipment_id"]) == ("RAIL", "51800209", "BL-9")
    assert "container_no" not in body
    barge = dcsa_event(AT, transportCall={"UNLocationCode": "AZBAK", "modeOfTransport": "BARGE"})
    assert mapped(barge).body["mode"] == "VESSEL"
    located = dcsa_event(AT, transportCall=None, eventLocation={"UNLocationCode": "GEPTI"})
    assert mapped(located).body["location"] == "GEPTI"
    assert "mode" not in mapped(located).body


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"eventID": None}, "eventID", "missing"),
        ({"eventType": "SHIPMENT"}, "eventType", "not_mapped"),
        ({"equipmentEventTypeCode": "STUF"}, "equipmentEventTypeCode", "not_mapped"),
        (
            {"eventType": "TRANSPORT", "transportEventTypeCode": "OMIT"},
            "transportEventTypeCode",
            "not_mapped",
        ),
        ({"eventClassifierCode": "REQ"}, "eventClassifierCode", "enum"),
        ({"eventDateTime": "2026-11-02T03:30:00"}, "eventDateTime", "format"),
        (
            {"transportCall": {"modeOfTransport": "VESSEL"}},
            "transportCall.UNLocationCode",
            "missing",
        ),
        (
            {"transportCall": {"UNLocationCode": "KZAAU", "modeOfTransport": "AIR"}},
            "transportCall.modeOfTransport",
            "enum",
        ),
        ({"equipmentReference": None}, "equipmentReference", "missing"),
        (
            {"documentReferences": [{"documentReferenceType": "CBR"}]},
            "documentReferences",
            "missing",
        ),
    ],
)
def test_what_cannot_be_mapped_is_an_error_naming_the_field(
    changes: dict[str, Any], field: str, code: str
) -> None:
    assert errors(dcsa_event(AT, **changes)) == {field: code}


def test_not_an_object() -> None:
    assert errors(["LOAD"]) == {"": "type"}
