"""The one Kafka helper: topics, CloudEvents headers, publishing, consuming, dead letters.

Delivery is at-least-once everywhere: producers wait for ``acks=all``; consumers commit
offsets only after their work is durably done (and after any dead letter is acknowledged);
consumers are idempotent on ``(carrier, event_id)``. Broker transactions are never used:
the embedded broker cannot do them, and the design does not need them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, KafkaError, TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from corridor.settings import KafkaSettings

log = logging.getLogger(__name__)

EVENTS_TOPIC = "cargo.events.v1"
SHIPMENTS_TOPIC = "cargo.shipments.v1"
CHARGES_TOPIC = "cargo.charges.v1"
EVENTS_DLQ_TOPIC = "cargo.events.dlq.v1"

CE_TYPE_CARGO_EVENT = "corridor.v1.CargoEvent"
CE_TYPE_SHIPMENT_STATE = "corridor.v1.ShipmentState"
CE_TYPE_CHARGE = "corridor.v1.Charge"
CONTENT_TYPE = "application/protobuf"

# Dead-letter headers: why, and where the record came from.
DLQ_REASON = "dlq_reason"
DLQ_SOURCE_TOPIC = "dlq_source_topic"
DLQ_SOURCE_PARTITION = "dlq_source_partition"
DLQ_SOURCE_OFFSET = "dlq_source_offset"
DLQ_CONSUMER_GROUP = "dlq_consumer_group"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    configs: Mapping[str, str] = field(default_factory=dict)


# Every topic of the system, declared once. Retention is a deployment choice; compaction
# of the state topic is part of its contract (the latest state per shipment_id).
TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(EVENTS_TOPIC),
    TopicSpec(SHIPMENTS_TOPIC, {"cleanup.policy": "compact"}),
    TopicSpec(CHARGES_TOPIC),
    TopicSpec(EVENTS_DLQ_TOPIC),
)


def client_options(settings: KafkaSettings) -> dict[str, Any]:
    """Connection options shared by producers, consumers and the admin client."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.security_protocol,
        "request_timeout_ms": settings.request_timeout_ms,
    }
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(
            cafile=settings.ssl_cafile,
            certfile=settings.ssl_certfile,
            keyfile=settings.ssl_keyfile,
        )
    if settings.sasl_mechanism is not None:
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = (
            settings.sasl_password.get_secret_value() if settings.sasl_password else None
        )
    return options


async def ensure_topics(
    settings: KafkaSettings, specs: Iterable[TopicSpec] = TOPICS, client_id: str = "corridor"
) -> None:
    """Create the missing topics; existing ones are left as they are (idempotent)."""
    if not settings.create_topics:
        return
    admin = AIOKafkaAdminClient(client_id=f"{client_id}-admin", **client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = []
        for spec in specs:
            if spec.name in existing:
                continue
            configs = dict(spec.configs)
            if settings.min_insync_replicas is not None:
                configs["min.insync.replicas"] = str(settings.min_insync_replicas)
            missing.append(
                NewTopic(
                    spec.name,
                    settings.topic_partitions,
                    settings.replication_factor,
                    topic_configs=configs,
                )
            )
        if missing:
            response = await admin.create_topics(missing)
            for name, code, message in getattr(response, "topic_errors", ()):
                # 36: another instance created it first, which is fine.
                if code not in (0, TopicAlreadyExistsError.errno):
                    raise KafkaError(f"cannot create topic {name}: {code} {message}")
            log.info("topics created", extra={"topics": [t.name for t in missing]})
    finally:
        await admin.close()


def cloudevent_headers(
    ce_id: str, ce_type: str, source: str, ce_time: datetime
) -> list[tuple[str, bytes]]:
    """CloudEvents 1.0 binary-mode headers (Kafka protocol binding)."""
    return [
        ("ce_specversion", b"1.0"),
        ("ce_id", ce_id.encode()),
        ("ce_source", source.encode()),
        ("ce_type", ce_type.encode()),
        ("ce_time", ce_time.astimezone(UTC).isoformat().replace("+00:00", "Z").encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]


def header(record: ConsumerRecord, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode(errors="replace")
    return None


@dataclass(frozen=True)
class OutgoingRecord:
    topic: str
    key: str
    value: bytes
    headers: Sequence[tuple[str, bytes]]


def cloudevent_record(
    topic: str, key: str, value: bytes, ce_id: str, ce_type: str, source: str, ce_time: datetime
) -> OutgoingRecord:
    return OutgoingRecord(topic, key, value, cloudevent_headers(ce_id, ce_type, source, ce_time))


class PublishTimeoutError(Exception):
    """The broker did not acknowledge in time. The record may or may not be stored:
    the caller must report failure and rely on an idempotent retry."""


class PublishError(Exception):
    """The broker refused the record."""


class KafkaMetrics:
    """Publish and consume metrics, the same names in every service."""

    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        prefix = f"corridor_{service}"
        self.publish_seconds = Histogram(
            f"{prefix}_publish_duration_seconds",
            "Time from send to broker acknowledgement.",
            ["topic", "outcome"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.published = Counter(
            f"{prefix}_published_records_total",
            "Records published, by topic and outcome (ok, timeout, error).",
            ["topic", "outcome"],
            registry=registry,
        )
        self.consumed = Counter(
            f"{prefix}_consumed_records_total",
            "Records consumed, by topic and outcome (applied, dead_lettered).",
            ["topic", "outcome"],
            registry=registry,
        )
        self.dead_letters = Counter(
            f"{prefix}_dead_letters_total",
            "Records sent to the dead-letter topic, by source topic.",
            ["topic"],
            registry=registry,
        )
        self.lag = Gauge(
            f"{prefix}_consumer_lag_records",
            "Records between the fetched high watermark and this consumer's position.",
            ["topic", "partition"],
            registry=registry,
        )
        self.batch_failures = Counter(
            f"{prefix}_consumer_batch_failures_total",
            "Batches that failed and will be retried (database down, broker errors).",
            registry=registry,
        )


class Publisher:
    """An ``acks=all`` producer that returns only once the broker has acknowledged."""

    def __init__(
        self, settings: KafkaSettings, client_id: str, metrics: KafkaMetrics | None = None
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self._producer = AIOKafkaProducer(
            client_id=client_id,
            acks="all",
            enable_idempotence=settings.enable_idempotence,
            linger_ms=2,
            max_batch_size=256 * 1024,
            **client_options(settings),
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def ping(self) -> bool:
        """True when the broker answers a metadata request in time (readiness)."""
        try:
            async with asyncio.timeout(2.0):
                await self._producer.client.fetch_all_metadata()
        except (TimeoutError, KafkaError, OSError):
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
        ``publish_timeout_seconds`` whatever the number of records.
        """
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
                                headers=list(record.headers),
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
            self.metrics.publish_seconds.labels(records[0].topic, ok).observe(elapsed)
        return results


def make_consumer(
    settings: KafkaSettings, group_id: str, topics: Sequence[str], client_id: str
) -> AIOKafkaConsumer:
    """A consumer that never auto-commits and starts from the earliest offset."""
    return AIOKafkaConsumer(
        *topics,
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        **client_options(settings),
    )


@dataclass(frozen=True)
class DeadLetter:
    record: ConsumerRecord
    reason: str


def dead_letter_record(letter: DeadLetter, group_id: str) -> OutgoingRecord:
    """The original bytes, key and headers, plus why and where from."""
    source = letter.record
    key = bytes(source.key).decode(errors="replace") if source.key is not None else ""
    headers = [(k, bytes(v)) for k, v in (source.headers or ())]
    headers += [
        (DLQ_REASON, letter.reason[:1000].encode()),
        (DLQ_SOURCE_TOPIC, source.topic.encode()),
        (DLQ_SOURCE_PARTITION, str(source.partition).encode()),
        (DLQ_SOURCE_OFFSET, str(source.offset).encode()),
        (DLQ_CONSUMER_GROUP, group_id.encode()),
    ]
    return OutgoingRecord(EVENTS_DLQ_TOPIC, key, bytes(source.value or b""), headers)


BatchHandler = Callable[[list[ConsumerRecord]], Awaitable[list[DeadLetter]]]


class ConsumerLoop:
    """Fetch a batch, hand it to ``handle``, dead-letter what it rejects, then commit.

    ``handle`` must be idempotent and durable when it returns: offsets are committed after
    it (and after the dead letters are acknowledged). If it raises, nothing is committed,
    the consumer seeks back and the same records are retried after a bounded back-off.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        group_id: str,
        topics: Sequence[str],
        handle: BatchHandler,
        publisher: Publisher,
        metrics: KafkaMetrics,
        client_id: str,
        max_records: int = 500,
    ) -> None:
        self.group_id = group_id
        self.handle = handle
        self.publisher = publisher
        self.metrics = metrics
        self.max_records = max_records
        self.consumer = make_consumer(settings, group_id, topics, client_id)
        for topic in topics:  # series start at 0, so the first dead letter is an increase
            metrics.dead_letters.labels(topic)
        self.healthy = False
        self.batches = 0
        self._lag_reported_at = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        await self.consumer.start()
        self.healthy = True
        backoff = 0.1
        try:
            while not stop.is_set():
                batch = await self.consumer.getmany(timeout_ms=200, max_records=self.max_records)
                records = [r for rs in batch.values() for r in rs]
                if records:
                    try:
                        await self._process(records)
                        backoff = 0.1
                        self.healthy = True
                    except Exception:
                        self.healthy = False
                        self.metrics.batch_failures.inc()
                        log.exception("batch failed; it will be retried")
                        self._rewind(batch)
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), backoff)
                        backoff = min(backoff * 2, 5.0)
                await self._report_lag()
        finally:
            self.healthy = False
            await self.consumer.stop()

    async def _process(self, records: list[ConsumerRecord]) -> None:
        letters = await self.handle(records)
        if letters:
            await asyncio.gather(
                *(self.publisher.publish(dead_letter_record(x, self.group_id)) for x in letters)
            )
            for letter in letters:
                self.metrics.dead_letters.labels(letter.record.topic).inc()
                log.warning(
                    "dead-lettered",
                    extra={
                        "reason": letter.reason,
                        "topic": letter.record.topic,
                        "partition": letter.record.partition,
                        "offset": letter.record.offset,
                    },
                )
        offsets: dict[TopicPartition, int] = {}
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            offsets[tp] = max(offsets.get(tp, -1), r.offset + 1)
        try:
            await self.consumer.commit(offsets)
        except CommitFailedError:
            # A rebalance took these partitions away; their new owner re-reads the records
            # and the idempotent handler ignores what is already applied.
            log.warning("commit failed after a rebalance; records will be redelivered")
        dead = len(letters)
        if records:
            self.metrics.consumed.labels(records[0].topic, "applied").inc(len(records) - dead)
        if dead:
            self.metrics.consumed.labels(records[0].topic, "dead_lettered").inc(dead)
        self.batches += 1

    def _rewind(self, batch: Mapping[TopicPartition, list[ConsumerRecord]]) -> None:
        for tp, rs in batch.items():
            if rs and tp in self.consumer.assignment():
                self.consumer.seek(tp, rs[0].offset)

    async def _report_lag(self) -> None:
        """Lag from the high watermark of the last fetch (``end_offsets`` can be stale
        on some brokers), at most once a second."""
        now = time.monotonic()
        if now - self._lag_reported_at < 1.0:
            return
        self._lag_reported_at = now
        for tp in self.consumer.assignment():
            highwater = self.consumer.highwater(tp)
            if highwater is None:
                continue
            try:
                async with asyncio.timeout(0.5):
                    position = await self.consumer.position(tp)
            except (TimeoutError, KafkaError):
                continue
            self.metrics.lag.labels(tp.topic, str(tp.partition)).set(max(0, highwater - position))


def utcnow() -> datetime:
    return datetime.now(UTC)
