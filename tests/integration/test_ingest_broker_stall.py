"""A stalled broker (SIGSTOP) costs carriers a 503 within the publish timeout, never a
hang or a silent loss; once it resumes (SIGCONT) the same events are accepted, and every
copy of an event carries the same ``ce_id`` so that consumers apply it once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from aiokafka import ConsumerRecord

from corridor.devstack import EmbeddedBroker, free_port
from corridor.kafka import EVENTS_TOPIC, header
from corridor.settings import KafkaSettings
from corridor.v1 import events_pb2
from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from tests.conftest import unique
from tests.integration.test_ingest_publish import running
from tests.support import eventually, read_records
from tests.unit.test_ingest_support import bearer, event_body, scratch_database

pytestmark = pytest.mark.integration

PUBLISH_TIMEOUT = 1.0
MARGIN = 1.5  # scheduling on a busy 2-core machine


@pytest.fixture
def own_broker() -> Iterator[EmbeddedBroker]:
    """A broker of this test alone: pausing it must not stall the other tests."""
    broker = EmbeddedBroker(free_port())
    broker.start_and_wait()
    try:
        yield broker
    finally:
        broker.stop()


def events(shipment_id: str, prefix: str, count: int) -> list[dict[str, Any]]:
    occurred_at = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return [
        event_body(event_id=f"{prefix}-{n}", shipment_id=shipment_id, occurred_at=occurred_at)
        for n in range(count)
    ]


async def test_a_stalled_broker_answers_503_in_time_and_the_retries_are_accepted_once_it_resumes(
    own_broker: EmbeddedBroker,
) -> None:
    kafka = KafkaSettings(
        bootstrap_servers=own_broker.bootstrap_servers,
        topic_partitions=3,
        publish_timeout_seconds=PUBLISH_TIMEOUT,
    )
    app = create_app(
        IngestSettings(kafka=kafka, retry_after_seconds=1, database_url=scratch_database())
    )
    shipment_id = unique("SHP")
    headers = bearer("ktz")
    singles = events(shipment_id, unique("single"), 3)
    batch = events(shipment_id, unique("batch"), 4)
    async with running(app) as client:
        warm = events(shipment_id, unique("warm"), 1)[0]
        assert (await client.post("/v1/events", json=warm, headers=headers)).status_code == 202

        own_broker.pause()
        try:
            started = time.monotonic()
            answers = await asyncio.gather(
                *(client.post("/v1/events", json=body, headers=headers) for body in singles),
                client.post("/v1/events/batch", json={"events": batch}, headers=headers),
            )
            elapsed = time.monotonic() - started
        finally:
            own_broker.resume()
        assert [a.status_code for a in answers] == [503] * 4
        assert all(a.headers["retry-after"] == "1" for a in answers)
        assert all(a.headers["content-type"] == "application/problem+json" for a in answers)
        assert elapsed < PUBLISH_TIMEOUT + MARGIN

        async def accepted(path: str, body: dict[str, Any]) -> httpx.Response | None:
            response = await client.post(path, json=body, headers=headers)
            return response if response.status_code in (200, 202) else None

        for body in singles:
            await eventually(partial(accepted, "/v1/events", body), within=30)
        retried = await eventually(partial(accepted, "/v1/events/batch", {"events": batch}), 30)
        assert retried.json()["accepted"] == len(batch)

    event_ids = {body["event_id"] for body in [*singles, *batch]}

    def all_there(records: list[ConsumerRecord]) -> bool:
        found = {events_pb2.CargoEvent.FromString(r.value).event_id for r in records}
        return event_ids <= found

    records = await read_records(own_broker.bootstrap_servers, EVENTS_TOPIC, all_there, within=30)
    copies: dict[str, set[str | None]] = {}
    for record in records:
        event = events_pb2.CargoEvent.FromString(record.value)
        if event.event_id in event_ids:
            assert record.key == shipment_id.encode()
            copies.setdefault(event.event_id, set()).add(header(record, "ce_id"))
    # Each event is there (the attempt during the stall may be there too): all its copies
    # carry the one identity a consumer deduplicates on.
    assert copies == {event_id: {f"ktz/{event_id}"} for event_id in event_ids}
