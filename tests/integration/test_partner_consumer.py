"""The partner example (examples/partner_consumer.py) against the real embedded broker.

It runs as a partner would run it, as a process with the generated code on its path, reads
states the way the tracker publishes them (key, CloudEvents headers, ShipmentState bytes),
and is stopped by its own bounds (states applied, seconds).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from corridor.kafka import (
    CE_TYPE_SHIPMENT_STATE,
    OutgoingRecord,
    Publisher,
    TopicSpec,
    cloudevent_record,
    ensure_topics,
)
from corridor.settings import KafkaSettings
from corridor.v1 import common_pb2, shipments_pb2
from tests.conftest import unique

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "partner_consumer.py"
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def state_record(
    topic: str, shipment_id: str, version: int, location: str, ce_type: str = CE_TYPE_SHIPMENT_STATE
) -> OutgoingRecord:
    state = shipments_pb2.ShipmentState(
        shipment_id=shipment_id,
        status=shipments_pb2.SHIPMENT_STATUS_IN_TRANSIT,
        container_no="MSCU6639870",
        origin="CNXIA",
        destination="GEPTI",
        current_location=location,
        container_type=common_pb2.CONTAINER_TYPE_40HC,
        version=version,
    )
    state.updated_at.FromDatetime(NOW)
    value = state.SerializeToString()
    ce_id = f"{shipment_id}/{version}"
    return cloudevent_record(topic, shipment_id, value, ce_id, ce_type, "/corridor/tracker", NOW)


async def run_example(
    settings: KafkaSettings, topic: str, group: str, max_records: int
) -> tuple[list[dict[str, Any]], str]:
    """The example as a process; its JSON lines and its error output."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLE),
        "--bootstrap-servers", settings.bootstrap_servers,
        "--topic", topic,
        "--group", group,
        "--max-records", str(max_records),
        "--max-seconds", "40",
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "libs")},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with asyncio.timeout(60):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
    assert process.returncode == 0, err.decode()
    return [json.loads(line) for line in out.decode().splitlines()], err.decode()


async def test_the_partner_example_decodes_each_newer_state_once_and_commits(
    kafka_settings: KafkaSettings,
) -> None:
    # One partition, so that the test knows the order in which the records are read.
    settings = kafka_settings.model_copy(update={"topic_partitions": 1})
    topic = unique("cargo.shipments.partner")
    await ensure_topics(settings, [TopicSpec(topic)])
    first, second = unique("SHP"), unique("SHP")
    garbage = state_record(topic, first, 9, "KZAAU")
    publisher = Publisher(settings, "partner-test")
    await publisher.start()
    try:
        results = await publisher.publish_many(
            [
                state_record(topic, first, 1, "KZAAU"),
                state_record(topic, first, 2, "KZAAU", ce_type="corridor.v2.ShipmentState"),
                OutgoingRecord(topic, first, b"\xff\xff", garbage.headers),
                state_record(topic, first, 2, "AZBAK"),
                state_record(topic, first, 1, "KZAAU"),  # redelivered after a newer one
                state_record(topic, second, 1, "KZAKX"),
            ]
        )
        assert results == [None] * 6
        group = unique("partner-example")

        lines, errors = await run_example(settings, topic, group, max_records=3)

        states = [line["state"] for line in lines]
        assert [(s["shipment_id"], s["version"]) for s in states] == [
            (first, "1"),
            (first, "2"),
            (second, "1"),
        ]
        assert states[1]["current_location"] == "AZBAK"
        assert states[1]["status"] == "SHIPMENT_STATUS_IN_TRANSIT"
        assert states[1]["container_type"] == "CONTAINER_TYPE_40HC"
        assert lines[1]["ce_id"] == f"{first}/2"
        assert "ce_type 'corridor.v2.ShipmentState' is not 'corridor.v1.ShipmentState'" in errors
        assert "undecodable ShipmentState" in errors

        # The same group again: it resumes after what it committed, reading only the new state.
        assert await publisher.publish_many([state_record(topic, second, 2, "AZBAK")]) == [None]

        lines, _ = await run_example(settings, topic, group, max_records=1)

        assert [(x["state"]["shipment_id"], x["state"]["version"]) for x in lines] == [
            (second, "2")
        ]
    finally:
        await publisher.stop()
