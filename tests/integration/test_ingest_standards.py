"""EPCIS 2.0 and DCSA T&T v2.2 through the real ingest app, the real broker and real
databases: the ``CargoEvent``s read back from ``cargo.events.v1`` (decoded by the contract),
the tracker's state of a journey told in both standards, rollback and proceed capture jobs,
the trust rules of ``POST /v1/events``, and a job resumed after a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from corridor import db
from corridor.contract.codec import decode
from corridor.contract.event import CargoEventData
from corridor.kafka import EVENTS_TOPIC, header
from corridor.settings import KafkaSettings
from corridor.topology import load_topology
from services.ingest.app import create_app
from services.ingest.db import MIGRATIONS
from services.ingest.settings import IngestSettings
from services.ingest.standards.jobs import CaptureJob, CaptureJobStore
from tests.conftest import unique
from tests.integration.test_ingest_publish import mine, running
from tests.integration.test_tracker_consumer import running_tracker, settings_for, shipment_where
from tests.support import eventually, read_records
from tests.unit.standards_samples import (
    AKTAU_DIGITAL_LINK,
    CONTAINER,
    dcsa_event,
    epcis_document,
    epcis_event,
)
from tests.unit.test_ingest_support import bearer, booking_body, event_body, scratch_database

pytestmark = pytest.mark.integration

NODES = frozenset(load_topology().nodes)
Body = dict[str, Any]


def bol(shipment_id: str) -> list[Body]:
    return [{"type": "bol", "bizTransaction": f"urn:epcglobal:cbv:bt:4870000000005:{shipment_id}"}]


def bkg(shipment_id: str) -> list[Body]:
    return [{"documentReferenceType": "BKG", "documentReferenceValue": shipment_id}]


def ago(hours: float) -> datetime:
    return (datetime.now(UTC) - timedelta(hours=hours)).replace(microsecond=0)


async def book(client: httpx.AsyncClient, shipment_id: str, origin: str, destination: str) -> None:
    body = booking_body(
        event_id=unique("book"),
        shipment_id=shipment_id,
        location=origin,
        occurred_at=ago(8).isoformat(),
        booking={"origin": origin, "destination": destination, "promised_delivery_at": None},
    )
    response = await client.post("/v1/events", json=body, headers=bearer("mcm"))
    assert response.status_code == 202, response.text


async def capture(client: httpx.AsyncClient, carrier: str, document: Body, **headers: str) -> Body:
    """Post a capture; wait for its job to finish; the job."""
    response = await client.post("/epcis/capture", json=document, headers=bearer(carrier) | headers)
    assert response.status_code == 202, response.text
    location = response.headers["location"]
    assert location == f"/epcis/capture/{response.json()['captureID']}"

    async def finished() -> Body | None:
        job: Body = (await client.get(location, headers=bearer(carrier))).json()
        return None if job["running"] else job

    return await eventually(finished, within=20)


async def published(kafka: KafkaSettings, shipment_id: str, count: int) -> list[CargoEventData]:
    """Every event of the shipment on ``cargo.events.v1`` (at least ``count``), decoded by
    the one contract: once ``count`` are there, the topic is read to its end."""
    await read_records(kafka.bootstrap_servers, EVENTS_TOPIC, mine(shipment_id, count), within=30)
    records = await read_records(kafka.bootstrap_servers, EVENTS_TOPIC, within=30)
    ours = [r for r in records if r.key == shipment_id.encode()]
    events = [decode(r.value, NODES) for r in ours]
    assert [header(r, "ce_id") for r in ours] == [f"{e.carrier}/{e.event_id}" for e in events]
    return events


@asynccontextmanager
async def ingest(kafka: KafkaSettings, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(IngestSettings(kafka=kafka, database_url=database_url))
    async with running(app) as client:
        yield client


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


async def test_rollback_publishes_nothing_and_proceed_the_good_events(
    kafka_settings: KafkaSettings, database_url: str
) -> None:
    held, passed = unique("RBK"), unique("PRC")

    def document(shipment_id: str) -> Body:
        good = [
            epcis_event(ago(3), bizStep=step, bizTransactionList=bol(shipment_id))
            for step in ("loading", "departing")
        ]
        bad_check_digit = epcis_event(
            ago(2), epcList=["urn:epc:id:bic:MSCU6639871"], bizTransactionList=bol(shipment_id)
        )
        return epcis_document(good[0], bad_check_digit, good[1])

    async with ingest(kafka_settings, database_url) as client:
        await book(client, held, "KZAAU", "AZBAK")
        await book(client, passed, "KZAAU", "AZBAK")
        rolled_back = await capture(client, "asco", document(held))
        proceeded = await capture(
            client, "asco", document(passed), **{"GS1-Capture-Error-Behaviour": "proceed"}
        )
        for job, behaviour, captured in ((rolled_back, "rollback", 0), (proceeded, "proceed", 2)):
            assert job["captureErrorBehaviour"] == behaviour
            assert (job["success"], job["eventCount"], job["capturedCount"]) == (False, 3, captured)
            [error] = job["errors"]
            assert (error["eventIndex"], error["status"]) == (1, 422)
            assert error["errors"][0]["field"] == "epcList"  # named in EPCIS terms
            assert error["errors"][0]["code"] == "check_digit"
            assert job["finishedAt"] is not None
        metrics = (await client.get("/metrics")).text
        for behaviour in ("rollback", "proceed"):
            labels = f'behaviour="{behaviour}",outcome="failed"'
            assert f"corridor_ingest_capture_jobs_total{{{labels}}} 1.0" in metrics
        location = f"/epcis/capture/{rolled_back['captureID']}"
        assert (await client.get(location, headers=bearer("ktz"))).status_code == 404
        assert (await client.get(location, headers=bearer("corridor-ops"))).status_code == 200
        assert (await client.get(location)).status_code == 401
        assert (await client.get("/epcis/capture/nope", headers=bearer("asco"))).status_code == 404
        bad = await client.post(
            "/epcis/capture",
            json=epcis_document(epcis_event(ago(1))),
            headers=bearer("asco") | {"GS1-Capture-Error-Behaviour": "ignore"},
        )
        assert bad.status_code == 400
        not_a_document = await client.post(
            "/epcis/capture", json={"type": "x"}, headers=bearer("asco")
        )
        assert not_a_document.status_code == 422
        assert not_a_document.json()["errors"][0]["field"] == "type"
    assert [e.event_type for e in await published(kafka_settings, passed, 3)] == [
        "BOOKED",
        "LOADED",
        "DEPARTED",
    ]
    assert [e.event_type for e in await published(kafka_settings, held, 1)] == ["BOOKED"]


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


async def test_a_job_left_running_is_finished_after_a_restart(
    kafka_settings: KafkaSettings, database_url: str
) -> None:
    """A job written before a stop (events kept) is run at the next start; one finished
    longer ago than the retention (30 days) is forgotten."""
    shipment_id = unique("RST")
    engine = db.make_engine(database_url)
    await db.migrate(engine, MIGRATIONS)
    events = [epcis_event(ago(2), bizStep="departing", bizTransactionList=bol(shipment_id))]
    capture_id, old_id = unique("job"), unique("old")
    store = CaptureJobStore(engine)
    try:
        for job_id, created in ((capture_id, ago(0.1)), (old_id, ago(800))):
            row = CaptureJob(job_id, "asco", "rollback", True, False, created, None, 1, 0, [], [])
            await store.create(replace(row, events=events))
        await store.finish(old_id, 1, [], ago(24 * 31))
    finally:
        await engine.dispose()
    async with ingest(kafka_settings, database_url) as client:

        async def finished() -> Body | None:
            path = f"/epcis/capture/{capture_id}"
            job: Body = (await client.get(path, headers=bearer("asco"))).json()
            return None if job["running"] else job

        job = await eventually(finished, within=20)
        forgotten = await client.get(f"/epcis/capture/{old_id}", headers=bearer("asco"))
        assert forgotten.status_code == 404
    assert (job["success"], job["capturedCount"]) == (True, 1)
    [event] = await published(kafka_settings, shipment_id, 1)
    assert (event.event_type, event.carrier, event.location) == ("DEPARTED", "asco", "KZAAU")


async def test_rollback_also_covers_trust_refusals_and_reused_event_ids(
    kafka_settings: KafkaSettings,
) -> None:
    """A refusal found after the content checks (trust, then the ledger) still rolls the
    whole capture back."""
    good, elsewhere = unique("GOOD"), unique("KURYK")
    first = epcis_event(ago(4), bizStep="loading", bizTransactionList=bol(good))
    async with ingest(kafka_settings, scratch_database()) as client:
        await book(client, good, "KZAAU", "AZBAK")
        await book(client, elsewhere, "KZALA", "GEPTI")  # via Kuryk: asco is no party at Aktau
        taken = await capture(client, "asco", epcis_document(first))
        assert taken["success"], taken
        departing = epcis_event(ago(3), bizStep="departing", bizTransactionList=bol(good))
        not_a_party = epcis_event(ago(3), bizTransactionList=bol(elsewhere))
        trust = await capture(client, "asco", epcis_document(departing, not_a_party))
        reused = epcis_event(ago(3), bizStep="arriving", bizTransactionList=bol(good))
        reused["eventID"] = first["eventID"]  # another event under a used id
        ledger = await capture(client, "asco", epcis_document(departing, reused))
    assert [(e["eventIndex"], e["status"]) for e in trust["errors"]] == [(1, 403)]
    assert trust["errors"][0]["errors"][0]["code"] == "not_a_party"
    assert [(e["eventIndex"], e["status"]) for e in ledger["errors"]] == [(1, 409)]
    assert trust["capturedCount"] == ledger["capturedCount"] == 0
    events = await published(kafka_settings, good, 2)
    assert [e.event_type for e in events] == ["BOOKED", "LOADED"]  # no DEPARTED
    assert [e.event_type for e in await published(kafka_settings, elsewhere, 1)] == ["BOOKED"]
