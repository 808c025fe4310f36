"""Tracing, when a process turns it on: a carrier's request continues the caller's W3C trace
(SERVER span), ingest's publish is its child (PRODUCER span) and the record carries that
span in its ``traceparent`` header, the latency histogram's sample carries the trace id as
an exemplar (OpenMetrics), and the tracker's and the tariff's batch that applies the record
is a CONSUMER span linked to the span that published it. Off (the default), records carry
no trace header.

The spans go to an in-memory exporter instead of OTLP; the tracer provider of a process is
set once, so this module sets it once and turns tracing off again after each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from aiokafka import ConsumerRecord
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from corridor import tracing
from corridor.clock import utcnow
from corridor.kafka import EVENTS_TOPIC, header
from corridor.settings import KafkaSettings
from services.ingest.app import create_app as create_ingest
from services.ingest.settings import IngestSettings
from tests.conftest import unique
from tests.integration import test_ingest_broker_stall as stall
from tests.integration.test_consumer_resilience import feed, running_tariff, tariff_settings
from tests.integration.test_ingest_publish import running
from tests.integration.test_tracker_consumer import running_tracker, settings_for
from tests.support import eventually, read_records
from tests.tariff_support import long_aktau_journey, record
from tests.unit.test_ingest_support import bearer, scratch_database

pytestmark = pytest.mark.integration

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
EXPORTER = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        tracing._State.enabled = True  # this module's provider, set by an earlier test
    else:
        tracing.configure("test", tracing.TracingSettings(enabled=True), EXPORTER)
    EXPORTER.clear()
    try:
        yield EXPORTER
    finally:
        tracing.disable()


def finished(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    provider = trace.get_tracer_provider()
    provider.force_flush()  # type: ignore[attr-defined]
    return list(exporter.get_finished_spans())


def hex_id(value: int, width: int) -> str:
    return format(value, f"0{width}x")


async def test_a_request_its_publish_and_its_record_are_one_trace_with_an_exemplar(
    spans: InMemorySpanExporter, kafka_settings: KafkaSettings
) -> None:
    app = create_ingest(IngestSettings(kafka=kafka_settings, database_url=scratch_database()))
    shipment_id = unique("SHP")
    body = stall.events(shipment_id, unique("traced"), 1)[0]
    caller = {"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01", **bearer("ktz")}
    async with running(app) as client:
        assert (await client.post("/v1/events", json=body, headers=caller)).status_code == 202
        openmetrics = await client.get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )

    def mine(records: list[ConsumerRecord]) -> bool:
        return any(r.key == shipment_id.encode() for r in records)

    records = await read_records(kafka_settings.bootstrap_servers, EVENTS_TOPIC, mine)
    published = next(r for r in records if r.key == shipment_id.encode())
    server = next(s for s in finished(spans) if s.kind == SpanKind.SERVER)
    producer = next(s for s in finished(spans) if s.kind == SpanKind.PRODUCER)

    assert server.name == "POST /v1/events"
    assert server.parent is not None
    assert hex_id(server.parent.span_id, 16) == CALLER_SPAN
    assert hex_id(server.context.trace_id, 32) == CALLER_TRACE
    assert producer.name == f"{EVENTS_TOPIC} publish"
    assert producer.parent is not None
    assert producer.parent.span_id == server.context.span_id
    assert header(published, "traceparent") == (
        f"00-{CALLER_TRACE}-{hex_id(producer.context.span_id, 16)}-01"
    )
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert f'trace_id="{CALLER_TRACE}"' in openmetrics.text


async def test_the_tracker_and_the_tariff_apply_in_spans_linked_to_the_publish(
    spans: InMemorySpanExporter, kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    tracker = settings_for(kafka_settings, f"sqlite+aiosqlite:///{tmp_path / 'tracker.db'}")
    tariff = tariff_settings(
        kafka_settings, tmp_path / "tariff.db", events_topic=tracker.events_topic
    )
    topic = tracker.events_topic
    posts = long_aktau_journey(unique("SHP"), utcnow() - timedelta(days=25))
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(running_tracker(tracker))
        await stack.enter_async_context(running_tariff(tariff))
        await feed(kafka_settings, [record(topic, p) for p in posts], [0])

        published = {s.context.trace_id for s in finished(spans) if s.name == f"{topic} publish"}

        def groups_linked() -> set[str]:
            return {
                str(s.attributes["messaging.consumer.group.name"])
                for s in finished(spans)
                if s.kind == SpanKind.CONSUMER
                and s.attributes is not None
                and any(link.context.trace_id in published for link in s.links)
            }

        async def both_applied_in_linked_spans() -> bool | None:
            wanted = {tracker.consumer_group, tariff.consumer_group}
            return wanted <= groups_linked() or None

        await eventually(both_applied_in_linked_spans, within=45, interval=0.5)

    assert published


async def test_off_by_default_records_carry_no_trace_header(kafka_settings: KafkaSettings) -> None:
    assert not tracing.enabled()
    app = create_ingest(IngestSettings(kafka=kafka_settings, database_url=scratch_database()))
    shipment_id = unique("SHP")
    body = stall.events(shipment_id, unique("plain"), 1)[0]
    caller = {"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01", **bearer("ktz")}
    async with running(app) as client:
        assert (await client.post("/v1/events", json=body, headers=caller)).status_code == 202

    def mine(records: list[ConsumerRecord]) -> bool:
        return any(r.key == shipment_id.encode() for r in records)

    records = await read_records(kafka_settings.bootstrap_servers, EVENTS_TOPIC, mine)
    published = next(r for r in records if r.key == shipment_id.encode())
    assert header(published, "traceparent") is None
