"""The producer side: an ``acks=all`` publisher that returns only once the broker has
acknowledged, or says why not."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from corridor import tracing
from corridor.kafka.cloudevents import OutgoingRecord
from corridor.kafka.metrics import KafkaMetrics
from corridor.kafka.topics import client_options
from corridor.settings import KafkaSettings


class PublishTimeoutError(Exception):
    """The broker did not acknowledge in time. The record may or may not be stored:
    the caller must report failure and rely on an idempotent retry."""


class PublishError(Exception):
    """The broker refused the record."""


class Publisher:
    """An ``acks=all`` producer that returns only once the broker has acknowledged.

    The producer is made in ``start()``, in the running event loop, so that a composition
    root can build its publisher (and what uses it) when the app is created."""

    def __init__(
        self, settings: KafkaSettings, client_id: str, metrics: KafkaMetrics | None = None
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.client_id = client_id
        self._started: AIOKafkaProducer | None = None

    @property
    def _producer(self) -> AIOKafkaProducer:
        if self._started is None:
            raise PublishError("the publisher is not started")
        return self._started

    async def start(self) -> None:
        self._started = AIOKafkaProducer(
            client_id=self.client_id,
            acks="all",
            enable_idempotence=self.settings.enable_idempotence,
            linger_ms=2,
            max_batch_size=256 * 1024,
            **client_options(self.settings),
        )
        await self._started.start()

    async def stop(self) -> None:
        if self._started is not None:
            await self._started.stop()

    async def ping(self) -> bool:
        """True when the broker answers a metadata request in time (readiness)."""
        try:
            async with asyncio.timeout(2.0):
                await self._producer.client.fetch_all_metadata()
        except (TimeoutError, KafkaError, OSError, PublishError):
            return False
        return True

    async def publish(self, record: OutgoingRecord) -> None:
        """Publish one record and wait for the acknowledgement (or raise)."""
        results = await self.publish_many([record])
        if results[0] is not None:
            raise results[0]

    async def publish_many(
        self, records: Sequence[OutgoingRecord]
    ) -> list[PublishTimeoutError | PublishError | None]:
        """Publish records together; one result per record, ``None`` meaning acknowledged.

        All sends share one deadline, so a stalled broker costs the caller at most
        ``publish_timeout_seconds`` whatever the number of records. When the process traces
        (corridor.tracing), the sends are one PRODUCER span whose context every record
        carries in its ``traceparent`` header.
        """
        if not tracing.enabled() or not records:
            return await self._publish_many(records, [])
        with tracing.tracer().start_as_current_span(
            f"{records[0].topic} publish", kind=tracing.PRODUCER
        ) as span:
            span.set_attributes(
                {"messaging.system": "kafka", "messaging.batch.message_count": len(records)}
            )
            return await self._publish_many(records, tracing.record_headers())

    async def _publish_many(
        self, records: Sequence[OutgoingRecord], trace_headers: list[tuple[str, bytes]]
    ) -> list[PublishTimeoutError | PublishError | None]:
        carried = {name for name, _ in trace_headers}
        started = time.perf_counter()
        deadline = self.settings.publish_timeout_seconds
        futures: list[asyncio.Future[Any] | BaseException] = []
        try:
            async with asyncio.timeout(deadline):
                for record in records:
                    try:
                        futures.append(
                            await self._producer.send(
                                record.topic,
                                record.value,
                                key=record.key.encode(),
                                headers=[
                                    *(h for h in record.headers if h[0] not in carried),
                                    *trace_headers,
                                ],
                            )
                        )
                    except KafkaError as exc:
                        futures.append(exc)
        except TimeoutError:
            pass
        pending = [f for f in futures if isinstance(f, asyncio.Future)]
        remaining = max(0.0, deadline - (time.perf_counter() - started))
        if pending:
            await asyncio.wait(pending, timeout=remaining)
        results: list[PublishTimeoutError | PublishError | None] = []
        for index, record in enumerate(records):
            outcome: PublishTimeoutError | PublishError | None
            if index >= len(futures):
                outcome = PublishTimeoutError(f"broker did not accept within {deadline}s")
            else:
                sent = futures[index]
                if isinstance(sent, BaseException):
                    outcome = PublishError(str(sent))
                elif not sent.done():
                    outcome = PublishTimeoutError(f"broker did not acknowledge within {deadline}s")
                elif sent.cancelled() or sent.exception() is not None:
                    outcome = PublishError(str(sent.exception()))
                else:
                    outcome = None
            results.append(outcome)
            if self.metrics is not None:
                label = (
                    "ok"
                    if outcome is None
                    else "timeout"
                    if isinstance(outcome, PublishTimeoutError)
                    else "error"
                )
                self.metrics.published.labels(record.topic, label).inc()
        if self.metrics is not None and records:
            elapsed = time.perf_counter() - started
            ok = "ok" if all(r is None for r in results) else "failed"
            trace_id = tracing.trace_id()
            exemplar = {"trace_id": trace_id} if trace_id else None
            self.metrics.publish_seconds.labels(records[0].topic, ok).observe(elapsed, exemplar)
        return results
