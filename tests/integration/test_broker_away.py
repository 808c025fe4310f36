"""Kafka away (the broker stalled, SIGSTOP): every service keeps serving what it serves.

- ingest stays ready (degraded) and answers carriers 503 with ``Retry-After`` itself,
  counted in the metrics the alert CorridorIngestPublishTimeouts and the availability SLO
  use, instead of leaving the Service (where the load balancer's errors count nowhere);
- the tracker and the tariff stay ready (degraded) and keep answering reads from their
  databases: a shipment applied before the stall is still served during it.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from corridor.clock import utcnow
from corridor.devstack import EmbeddedBroker
from corridor.kafka import EVENTS_TOPIC
from corridor.settings import KafkaSettings
from services.ingest.app import create_app as create_ingest
from services.ingest.settings import IngestSettings
from tests.conftest import unique
from tests.integration import test_ingest_broker_stall as stall
from tests.integration.test_consumer_resilience import (
    feed,
    kafka_for,
    running_tariff,
    tariff_settings,
)
from tests.integration.test_ingest_publish import running
from tests.integration.test_tracker_consumer import running_tracker, settings_for
from tests.support import eventually
from tests.tariff_support import long_aktau_journey, record
from tests.unit.test_ingest_support import bearer, scratch_database

pytestmark = pytest.mark.integration

own_broker = stall.own_broker  # a broker of this test alone: it is paused
RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules" / "corridor.yml"


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


async def degraded_by(client: httpx.AsyncClient, *names: str) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "degraded"
    assert sorted(response.json()["degraded"]) == sorted(names)


async def test_ingest_answers_503_with_retry_after_counted_and_stays_in_the_service(
    own_broker: EmbeddedBroker,
) -> None:
    kafka = KafkaSettings(
        bootstrap_servers=own_broker.bootstrap_servers,
        topic_partitions=3,
        publish_timeout_seconds=stall.PUBLISH_TIMEOUT,
    )
    app = create_ingest(
        IngestSettings(kafka=kafka, retry_after_seconds=3, database_url=scratch_database())
    )
    shipment_id = unique("SHP")
    async with running(app) as client:
        warm = stall.events(shipment_id, unique("warm"), 1)[0]
        assert (
            await client.post("/v1/events", json=warm, headers=bearer("ktz"))
        ).status_code == 202
        assert (await client.get("/readyz")).json()["status"] == "ready"

        own_broker.pause()
        try:
            answers = [
                await client.post("/v1/events", json=body, headers=bearer("ktz"))
                for body in stall.events(shipment_id, unique("away"), 2)
            ]
            await degraded_by(client, "broker")
            metrics = (await client.get("/metrics")).text
        finally:
            own_broker.resume()

    assert [a.status_code for a in answers] == [503, 503]
    assert all(a.headers["retry-after"] == "3" for a in answers)
    timeouts = samples(metrics, "corridor_ingest_published_records_total")
    key = (("outcome", "timeout"), ("topic", EVENTS_TOPIC))
    assert timeouts[key] == 2
    requests = samples(metrics, "corridor_ingest_http_requests_total")
    unavailable = (("method", "POST"), ("route", "/v1/events"), ("status", "503"))
    assert requests[unavailable] == 2
    # ...which are what the alert and the SLO count.
    rules = {
        r["alert"]: r["expr"]
        for group in yaml.safe_load(RULES.read_text())["groups"]
        for r in group["rules"]
        if "alert" in r
    }
    assert (
        'corridor_ingest_published_records_total{outcome="timeout"}'
        in (rules["CorridorIngestPublishTimeouts"])
    )


async def test_the_tracker_and_the_tariff_keep_answering_reads_while_the_broker_is_away(
    own_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    kafka = kafka_for(own_broker)
    tracker = settings_for(kafka, f"sqlite+aiosqlite:///{tmp_path / 'tracker.db'}")
    tariff = tariff_settings(kafka, tmp_path / "tariff.db", events_topic=tracker.events_topic)
    shipment_id = unique("SHP")
    posts = long_aktau_journey(shipment_id, utcnow() - timedelta(days=25))
    async with AsyncExitStack() as stack:
        tracker_client = await stack.enter_async_context(running_tracker(tracker))
        tariff_client = await stack.enter_async_context(running_tariff(tariff))
        await feed(kafka, [record(tracker.events_topic, p) for p in posts], [0])

        async def both_applied() -> bool | None:
            shipment = await tracker_client.get(f"/v1/shipments/{shipment_id}")
            charges = await tariff_client.get(f"/v1/shipments/{shipment_id}/charges")
            return (shipment.status_code, charges.status_code) == (200, 200) or None

        await eventually(both_applied, within=45, interval=0.5)
        before = (await tracker_client.get(f"/v1/shipments/{shipment_id}")).json()

        own_broker.pause()
        try:
            for client in (tracker_client, tariff_client):
                await degraded_by(client, "broker")
            during = await tracker_client.get(f"/v1/shipments/{shipment_id}")
            charges = await tariff_client.get(f"/v1/shipments/{shipment_id}/charges")
            listed = await tracker_client.get("/v1/shipments")
        finally:
            own_broker.resume()

    assert during.status_code == 200
    assert during.json()["counts"] == before["counts"]
    assert charges.status_code == 200
    assert charges.json()["charges"]
    assert listed.status_code == 200
