"""EPCIS 2.0 capture jobs through the real ingest app, the real broker and real databases:
rollback publishes nothing and proceed the good events, rollback also covers trust refusals
and reused event ids, and a job left running is finished after a restart."""

from __future__ import annotations

from dataclasses import replace

import pytest

from corridor import db
from corridor.settings import KafkaSettings
from services.ingest.db import MIGRATIONS
from services.ingest.standards.jobs import CaptureJob, CaptureJobStore
from tests.conftest import unique
from tests.integration.ingest_standards_support import (
    Body,
    ago,
    bol,
    book,
    capture,
    ingest,
    published,
)
from tests.support import eventually
from tests.unit.standards_samples import epcis_document, epcis_event
from tests.unit.test_ingest_support import bearer, scratch_database

pytestmark = pytest.mark.integration


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
