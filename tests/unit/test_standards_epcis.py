"""EPCIS 2.0 events as native events (``services.ingest.standards.epcis``): every transport
business step in all three forms, both GLN forms and UN/LOCODE URIs, the shipment, the time,
and a field-named error for whatever cannot be mapped."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from corridor.identifiers import iso6346_check_digit
from corridor.topology import load_topology
from services.ingest.standards.common import Mapped, Unmapped, last_segment, node_of
from services.ingest.standards.epcis import (
    DocumentError,
    containers_named,
    document_events,
    event_id_of,
    map_event,
    term,
)
from tests.unit.standards_samples import (
    AKTAU_DIGITAL_LINK,
    AKTAU_SGLN,
    CONTAINER,
    epcis_document,
    epcis_event,
)

TOPOLOGY = load_topology()
AT = datetime(2026, 11, 2, 3, 30, tzinfo=UTC)
STEPS = [
    ("departing", "DEPARTED"),
    ("arriving", "ARRIVED"),
    ("loading", "LOADED"),
    ("unloading", "DISCHARGED"),
    ("receiving", "GATE_IN"),
    ("shipping", "GATE_OUT"),
    ("inspecting", "CUSTOMS_HOLD"),
    ("holding", "CUSTOMS_HOLD"),
]
FORMS = [
    "{}",
    "urn:epcglobal:cbv:bizstep:{}",
    "https://ref.gs1.org/cbv/BizStep-{}",
]


def mapped(raw: Any) -> Mapped:
    """The one corridor event of an EPCIS event naming one container."""
    result = map_event(raw, TOPOLOGY)
    assert isinstance(result, list), result
    [one] = result
    return one


def errors(raw: Any) -> dict[str, str]:
    result = map_event(raw, TOPOLOGY)
    assert isinstance(result, Unmapped), result
    return {v.field: v.code for v in result.violations}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(("step", "event_type"), STEPS)
def test_every_transport_step_in_every_form(form: str, step: str, event_type: str) -> None:
    body = mapped(epcis_event(AT, bizStep=form.format(step))).body
    assert body["event_type"] == event_type
    assert body["container_no"] == CONTAINER
    assert body["location"] == "KZAAU"
    assert body["shipment_id"] == "MCM-2026-00042"
    assert body["classifier"] == "ACT"
    if event_type == "CUSTOMS_HOLD":
        assert body["reason"] == f"EPCIS {step} (in_transit)"  # required on a hold
    else:
        assert "reason" not in body


def test_an_inspection_found_conformant_is_a_customs_release() -> None:
    web = "https://ref.gs1.org/cbv/Disp-conformant"
    body = mapped(epcis_event(AT, bizStep="inspecting", disposition=web)).body
    assert body["event_type"] == "CUSTOMS_RELEASED"


def test_cbv_terms_are_read_in_every_form() -> None:
    assert term("urn:epcglobal:cbv:btt:bol", "btt") == "bol"
    assert term("https://ref.gs1.org/cbv/BTT-bol", "btt") == "bol"
    assert term("cbv:BizStep-arriving", "bizstep") == "arriving"
    assert term("http://ref.gs1.org/cbv/BizStep-arriving", "bizstep") == "arriving"


@pytest.mark.parametrize(
    "uri",
    [
        AKTAU_SGLN,
        "urn:epc:id:sgln:4870000.00002.1",  # a sub-location of the same GLN
        AKTAU_DIGITAL_LINK,
        "https://example.kz/414/4870000000029/254/7",
        "urn:unece:unlocode:KZAAU",
        "https://service.unece.org/trade/locode/kz/KZAAU",
    ],
)
def test_a_node_is_found_by_gln_in_both_forms_or_by_unlocode(uri: str) -> None:
    assert node_of(uri, TOPOLOGY) == ("KZAAU", "")


def test_the_node_comes_from_biz_location_else_read_point() -> None:
    both = epcis_event(AT, bizLocation={"id": "urn:unece:unlocode:KZKUR"})
    assert mapped(both).body["location"] == "KZKUR"
    assert mapped(both).fields["location"] == "bizLocation.id"
    only_read_point = epcis_event(AT, bizLocation=None)
    assert mapped(only_read_point).body["location"] == "KZAAU"
    assert mapped(only_read_point).fields["location"] == "readPoint.id"


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("urn:epc:id:sgln:4870000.99999.0", "not registered"),
        ("https://id.gs1.org/414/4870000000020", "check digit"),
        ("urn:epc:id:sgln:487.1.0", "12 digits"),
        ("urn:unece:unlocode:DEHAM", "names no corridor node"),
    ],
)
def test_an_unknown_location_names_the_field(uri: str, why: str) -> None:
    result = map_event(epcis_event(AT, bizLocation={"id": uri}), TOPOLOGY)
    assert isinstance(result, Unmapped)
    [violation] = result.violations
    assert violation.field == "bizLocation.id"
    assert why in violation.message


def test_the_shipment_is_the_bol_value_or_its_uri_last_segment() -> None:
    for kind, value in [
        ("bol", "MCM-2026-00042"),
        ("urn:epcglobal:cbv:btt:bol", "https://carrier.example/bol/MCM-2026-00042"),
        ("https://ref.gs1.org/cbv/BTT-bol", "urn:epcglobal:cbv:bt:4870000000005:MCM-2026-00042"),
    ]:
        raw = epcis_event(AT, bizTransactionList=[{"type": kind, "bizTransaction": value}])
        assert mapped(raw).body["shipment_id"] == "MCM-2026-00042"
    assert last_segment("https://x.example/a/B-1/?q=1#f") == "B-1"


def test_the_time_is_event_time_in_its_offset() -> None:
    body = mapped(epcis_event(AT, eventTime="2026-11-02T03:30:00.000Z")).body
    occurred_at = datetime.fromisoformat(body["occurred_at"])
    assert occurred_at == AT
    assert body["occurred_at"] == "2026-11-02T08:30:00+05:00"


def test_without_event_id_the_id_is_a_digest_of_the_content() -> None:
    raw = epcis_event(AT, eventID=None)
    assert event_id_of(raw) == event_id_of(dict(raw)) == mapped(raw).body["event_id"]
    assert event_id_of(raw) != event_id_of(epcis_event(AT, eventID=None, bizStep="arriving"))
    assert event_id_of(raw).startswith("epcis-")


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"type": "AggregationEvent"}, "type", "not_mapped"),
        ({"action": "DELETE"}, "action", "not_mapped"),
        ({"bizStep": None}, "bizStep", "missing"),
        ({"bizStep": "commissioning"}, "bizStep", "not_mapped"),
        ({"epcList": ["urn:epc:id:sgtin:4870000.012345.1"]}, "epcList", "missing"),
        ({"epcList": ["urn:epc:id:bic:MSCU6639871"]}, "epcList", "check_digit"),
        (
            {"epcList": [f"urn:epc:id:bic:{CONTAINER}", "urn:epc:id:bic:MSCU66398"]},
            "epcList",
            "format",
        ),
        ({"bizLocation": None, "readPoint": None}, "bizLocation", "missing"),
        (
            {"bizTransactionList": [{"type": "po", "bizTransaction": "x"}]},
            "bizTransactionList",
            "missing",
        ),
        ({"eventTime": "2026-11-02T03:30:00"}, "eventTime", "format"),
        ({"eventTimeZoneOffset": "UTC"}, "eventTimeZoneOffset", "format"),
        (
            {"errorDeclaration": {"declarationTime": "2026-11-03T00:00:00Z"}},
            "errorDeclaration",
            "not_mapped",
        ),
    ],
)
def test_what_cannot_be_mapped_is_an_error_naming_the_field(
    changes: dict[str, Any], field: str, code: str
) -> None:
    assert errors(epcis_event(AT, **changes)) == {field: code}


def test_every_error_of_an_event_is_given_at_once() -> None:
    raw = epcis_event(AT, bizStep="commissioning", epcList=[], eventTimeZoneOffset=None)
    assert set(errors(raw)) == {"bizStep", "epcList", "eventTimeZoneOffset"}
    assert errors("not an event") == {"": "type"}


def test_a_document_gives_its_events_or_says_what_is_wrong() -> None:
    event = epcis_event(AT)
    assert document_events(epcis_document(event)) == [event]
    query = {
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "epcisBody": {"queryResults": {"resultsBody": {"eventList": [event]}}},
    }
    assert document_events(query) == [event]  # a query's results are captured too
    for document, field in [
        ([], ""),
        ({**epcis_document(event), "type": "EPCISMasterDataDocument"}, "type"),
        (
            {**query, "epcisBody": {"eventList": [event]}},
            "epcisBody.queryResults.resultsBody.eventList",
        ),
        ({**epcis_document(event), "schemaVersion": "1.2"}, "schemaVersion"),
        (epcis_document(), "epcisBody.eventList"),
        (epcis_document(*[event] * 1001), "epcisBody.eventList"),
    ]:
        with pytest.raises(DocumentError) as caught:
            document_events(document)
        assert caught.value.field == field


def test_an_event_naming_several_containers_is_one_corridor_event_each() -> None:
    other = "CSQU3054383"
    epcs = [
        f"urn:epc:id:bic:{CONTAINER}",
        "urn:epc:id:sgtin:4870000.012345.1",
        f"urn:epc:id:bic:{other}",
        f"urn:epc:id:bic:{CONTAINER}",
    ]
    raw = epcis_event(AT, epcList=epcs)
    result = map_event(raw, TOPOLOGY)
    assert isinstance(result, list)
    assert [m.body["container_no"] for m in result] == [CONTAINER, other]  # once each
    assert [m.body["event_id"] for m in result] == [
        f"{raw['eventID']}#{CONTAINER}",
        f"{raw['eventID']}#{other}",
    ]
    assert {m.body["shipment_id"] for m in result} == {"MCM-2026-00042"}
    assert containers_named([raw, epcis_event(AT), "junk"]) == 4


def test_at_most_a_thousand_containers_an_event() -> None:
    epcs = [f"urn:epc:id:bic:MCMU{n:06d}{iso6346_check_digit(f'MCMU{n:06d}')}" for n in range(1001)]
    assert errors(epcis_event(AT, epcList=epcs)) == {"epcList": "too_many"}
