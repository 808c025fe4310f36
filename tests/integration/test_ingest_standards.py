"""EPCIS 2.0 and DCSA T&T v2.2 through the real ingest app, the real broker and real
databases: the ``CargoEvent``s read back from ``cargo.events.v1`` (decoded by the contract)
and the tracker's state of a journey told in both standards, and the trust rules of
``POST /v1/events`` on every input form.

Capture jobs (rollback and proceed, a job resumed after a restart):
test_ingest_capture_jobs.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from corridor.kafka import EVENTS_TOPIC
from corridor.settings import KafkaSettings
from tests.conftest import unique
from tests.integration.ingest_standards_support import (
    ago,
    bkg,
    bol,
    book,
    capture,
    ingest,
    published,
)
from tests.integration.test_tracker_consumer import running_tracker, settings_for, shipment_where
from tests.support import eventually
from tests.unit.standards_samples import (
    AKTAU_DIGITAL_LINK,
    CONTAINER,
    dcsa_event,
    epcis_document,
    epcis_event,
)
from tests.unit.test_ingest_support import bearer, event_body, scratch_database

pytestmark = pytest.mark.integration


async def test_a_journey_told_in_epcis_and_dcsa_is_tracked(
    kafka_settings: KafkaSettings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    shipment_id = unique("STD")
    tracker_db = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('tracker')}/tracker.db"
    tracker = settings_for(kafka_settings, tracker_db, events_topic=EVENTS_TOPIC)
    loading = epcis_event(
        ago(6),
        bizStep="urn:epcglobal:cbv:bizstep:loading",
        bizTransactionList=bol(shipment_id),
    )
    departing = epcis_event(
        ago(5),
        bizStep="https://ref.gs1.org/cbv/BizStep-departing",
        bizLocation={"id": AKTAU_DIGITAL_LINK},
        bizTransactionList=bol(shipment_id),
    )
    arrival = dcsa_event(
        ago(2),
        eventType="TRANSPORT",
        transportEventTypeCode="ARRI",
        equipmentEventTypeCode=None,
        equipmentReference=None,
        references=[{"referenceType": "EQ", "referenceValue": CONTAINER}],
        transportCall={"UNLocationCode": "AZBAK", "modeOfTransport": "VESSEL"},
        documentReferences=bkg(shipment_id),
    )
    discharge = dcsa_event(
        ago(1.5),
        equipmentEventTypeCode="DISC",
        transportCall={"UNLocationCode": "AZBAK", "modeOfTransport": "VESSEL"},
        documentReferences=bkg(shipment_id),
    )
    gate_in = epcis_event(
        ago(1),
        bizStep="receiving",
        readPoint={"id": "urn:unece:unlocode:AZBAK"},
        bizLocation=None,
        bizTransactionList=bol(shipment_id),
    )
    delivered = event_body(
        event_id=unique("dlv"),
        event_type="DELIVERED",
        shipment_id=shipment_id,
        location="AZBAK",
        mode=None,
        occurred_at=ago(0.5).isoformat(),
    )
    async with (
        running_tracker(tracker) as tracking,
        ingest(kafka_settings, scratch_database()) as client,
    ):
        await book(client, shipment_id, "KZAAU", "AZBAK")
        job = await capture(client, "asco", epcis_document(loading, departing))
        assert (job["success"], job["capturedCount"], job["errors"]) == (True, 2, [])
        many = await client.post("/dcsa/v2/events", json=[arrival], headers=bearer("asco"))
        assert many.status_code == 200, many.text
        assert many.json()["accepted"] == 1
        one = await client.post("/dcsa/v2/events", json=discharge, headers=bearer("port-baku"))
        assert one.status_code == 202, one.text
        assert one.json() == {"event_id": discharge["eventID"], "status": "accepted"}
        gated = await client.post(
            "/epcis/events",
            json=gate_in,
            headers=bearer("port-baku") | {"content-type": "application/ld+json"},
        )
        assert gated.status_code == 202, gated.text
        end = await client.post("/v1/events", json=delivered, headers=bearer("port-baku"))
        assert end.status_code == 202, end.text
        state = await eventually(
            shipment_where(tracking, shipment_id, lambda b: b["status"] == "DELIVERED"), within=30
        )
    assert state["counts"]["events"] == 7
    assert state["current_location"] == "AZBAK"
    assert state["container_no"] == CONTAINER
    events = await published(kafka_settings, shipment_id, 7)
    told = [(e.carrier, e.event_type, e.classifier, e.location) for e in events]
    assert told == [
        ("mcm", "BOOKED", "ACT", "KZAAU"),
        ("asco", "LOADED", "ACT", "KZAAU"),
        ("asco", "DEPARTED", "ACT", "KZAAU"),
        ("asco", "ARRIVED", "ACT", "AZBAK"),
        ("port-baku", "DISCHARGED", "ACT", "AZBAK"),
        ("port-baku", "GATE_IN", "ACT", "AZBAK"),
        ("port-baku", "DELIVERED", "ACT", "AZBAK"),
    ]
    assert [e.event_id for e in events[1:6]] == [
        loading["eventID"],
        departing["eventID"],
        arrival["eventID"],
        discharge["eventID"],
        gate_in["eventID"],
    ]
    assert all(e.container_no == CONTAINER for e in events)
    assert [e.mode for e in events[3:5]] == ["VESSEL", "VESSEL"]
    assert events[1].occurred_at == datetime.fromisoformat(loading["eventTime"])


async def test_the_trust_rules_of_the_native_api_apply(kafka_settings: KafkaSettings) -> None:
    """Aktau's port takes no part in a shipment routed via Kuryk: refused on every input
    form exactly as on ``/v1/events``; a principal that does not post is refused too."""
    shipment_id = unique("TRU")
    at = ago(2)
    native = event_body(
        event_id=unique("nat"),
        event_type="ARRIVED",
        shipment_id=shipment_id,
        location="KZAAU",
        occurred_at=at.isoformat(),
    )
    epcis = epcis_event(at, bizStep="arriving", bizTransactionList=bol(shipment_id))
    dcsa = dcsa_event(at, equipmentEventTypeCode="GTIN", documentReferences=bkg(shipment_id))
    async with ingest(kafka_settings, scratch_database()) as client:
        await book(client, shipment_id, "KZALA", "GEPTI")
        refusals = [
            await client.post(path, json=body, headers=bearer("port-aktau"))
            for path, body in (
                ("/v1/events", native),
                ("/epcis/events", epcis),
                ("/dcsa/v2/events", dcsa),
            )
        ]
        alone = epcis_event(at, bizTransactionList=bol(shipment_id))
        job = await capture(client, "port-aktau", epcis_document(alone))
        party = await client.post(
            "/epcis/capture", json=epcis_document(epcis), headers=bearer("shipper-xian")
        )
        unknown = await client.post(
            "/epcis/events",
            json=epcis_event(at, bizLocation={"id": "urn:unece:unlocode:DEHAM"}),
            headers=bearer("asco"),
        )
    # The same refusal, word for word, whichever form the event came in.
    assert len({(r.json()["detail"], str(r.json()["errors"])) for r in refusals}) == 1
    for refusal in refusals:
        assert refusal.status_code == 403, refusal.text
        assert refusal.headers["content-type"] == "application/problem+json"
        assert refusal.json()["type"] == "/problems/not_a_party"
    assert job["errors"][0]["status"] == 403
    assert job["errors"][0]["errors"][0]["code"] == "not_a_party"
    assert party.status_code == 403
    assert party.json()["errors"][0]["code"] == "may_not_post"
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "bizLocation.id"
    assert [e.event_type for e in await published(kafka_settings, shipment_id, 1)] == ["BOOKED"]
