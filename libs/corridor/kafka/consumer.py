"""The one consumer loop of the system, resilient to what real clusters do to clients.

Fetch a batch, hand it to ``handle``, dead-letter what it rejects, then commit. ``handle``
must be idempotent and durable when it returns: offsets are committed after it (and after
the dead letters are acknowledged), so every failure only ever means redelivery.

Two kinds of failure, each retried here and nowhere else, with a bounded, jittered
exponential back-off (``backoff.py``), until the loop is asked to stop:

- the batch failed (database down, dead letters not acknowledged): nothing is committed,
  the consumer seeks back and the same records are retried;
- the Kafka client failed (start, fetch, commit, lag report, seek, or a call that outlived
  the request timeout): the consumer is closed and a new one started, which resumes from the
  committed offsets. Recreating is the one recovery that is correct whatever state the
  failed client is in (a position past records never committed, a group it left).

What no exception reports (a handler that blocks, a client retrying inside the library)
the watchdog (``progress.py``) sees: ``ready()`` and ``alive()`` feed ``/readyz`` and
``/healthz``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from functools import partial

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError

from corridor import tracing
from corridor.kafka.backoff import Backoff
from corridor.kafka.client import STAGES, ClientError, Consumer, make_consumer
from corridor.kafka.deadletters import DeadLetter, dead_letter_record
from corridor.kafka.metrics import KafkaMetrics
from corridor.kafka.progress import Progress
from corridor.kafka.publisher import Publisher
from corridor.settings import KafkaSettings

log = logging.getLogger(__name__)

BatchHandler = Callable[[list[ConsumerRecord]], Awaitable[list[DeadLetter]]]
CLIENT_MARGIN_SECONDS = 5.0  # beyond the request timeout, for the client's own retries
# Starting includes joining the group, which waits for the other members (and, after a
# member vanished, for its session to expire): it gets a minute more than any other call.
START_MARGIN_SECONDS = 60.0
LAG_PROBE_SECONDS = 0.5


class ConsumerLoop:
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
        *,
        progress: Progress | None = None,
        backoff: Backoff | None = None,
        consumer_factory: Callable[[], Consumer] | None = None,
    ) -> None:
        self.group_id = group_id
        self.handle = handle
        self.publisher = publisher
        self.metrics = metrics
        self.max_records = max_records
        self.progress = progress or Progress()
        self.backoff = backoff or Backoff()
        self._new_consumer = consumer_factory or partial(
            make_consumer, settings, group_id, topics, client_id
        )
        self._client_timeout = settings.request_timeout_ms / 1000 + CLIENT_MARGIN_SECONDS
        self.consumer: Consumer | None = None
        for topic in topics:  # series start at 0, so the first dead letter is an increase
            metrics.dead_letters.labels(topic)
        for stage in STAGES:
            metrics.client_errors.labels(stage)
        metrics.stalled_seconds.set_function(self.progress.stalled_seconds)
        self.started = False  # a consumer was started at least once
        self.ended = False
        self.batches = 0
        self._lag_reported_at = 0.0

    def ready(self) -> bool:
        """Consuming, and nothing waited longer than the readiness grace."""
        return self.started and not self.ended and self.progress.state() == "ok"

    def alive(self) -> bool:
        """Not stuck: nothing waited longer than the liveness grace."""
        return not self.ended and self.progress.state() != "stuck"

    async def is_ready(self) -> bool:
        """``ready()`` as a readiness check of ``corridor.health``."""
        return self.ready()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; every failure is retried, none ends the loop."""
        try:
            while not stop.is_set():
                try:
                    await self._consume(stop)
                except ClientError as exc:
                    self.metrics.client_errors.labels(exc.stage).inc()
                    self.progress.waiting()
                    delay = self.backoff.next()
                    log.warning(
                        "kafka client failed; a new consumer in %.1fs",
                        delay,
                        extra={"stage": exc.stage},
                        exc_info=exc.__cause__,
                    )
                    await self._close()
                    await _pause(stop, delay)
        finally:
            self.ended = True
            await self._close()

    async def _consume(self, stop: asyncio.Event) -> None:
        self.consumer = consumer = self._new_consumer()
        async with self._client("start", START_MARGIN_SECONDS):
            await consumer.start()
        self.started = True
        while not stop.is_set():
            async with self._client("fetch"):
                batch = await consumer.getmany(timeout_ms=200, max_records=self.max_records)
            records = [r for rs in batch.values() for r in rs]
            if records:
                self.progress.waiting()
                await self._batch(consumer, batch, records, stop)
            await self._report_lag(consumer)

    async def _batch(
        self,
        consumer: Consumer,
        batch: Mapping[TopicPartition, list[ConsumerRecord]],
        records: list[ConsumerRecord],
        stop: asyncio.Event,
    ) -> None:
        try:
            letters = await self._handled(records)
            await self._dead_letter(letters)
        except Exception:
            self.metrics.batch_failures.inc()
            log.exception("batch failed; it will be retried")
            self._rewind(consumer, batch)
            await _pause(stop, self.backoff.next())
            return
        offsets: dict[TopicPartition, int] = {}
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            offsets[tp] = max(offsets.get(tp, -1), r.offset + 1)
        try:
            async with self._client("commit"):
                await consumer.commit(offsets)
        except ClientError as exc:
            if not isinstance(exc.__cause__, CommitFailedError):
                raise
            # A rebalance took these partitions away; their new owner re-reads the records
            # and the idempotent handler ignores what is already applied.
            log.warning("commit failed after a rebalance; records will be redelivered")
        dead = len(letters)
        self.metrics.consumed.labels(records[0].topic, "applied").inc(len(records) - dead)
        if dead:
            self.metrics.consumed.labels(records[0].topic, "dead_lettered").inc(dead)
        self.batches += 1
        self._settled()

    async def _handled(self, records: list[ConsumerRecord]) -> list[DeadLetter]:
        """The handler on a batch; when the process traces, in a CONSUMER span linked to the
        span that published each record (its ``traceparent`` header)."""
        if not tracing.enabled():
            return await self.handle(records)
        links = [link for r in records if (link := tracing.link_to(r.headers or ()))]
        with tracing.tracer().start_as_current_span(
            f"{records[0].topic} process", kind=tracing.CONSUMER, links=links
        ) as span:
            span.set_attributes(
                {
                    "messaging.system": "kafka",
                    "messaging.consumer.group.name": self.group_id,
                    "messaging.batch.message_count": len(records),
                }
            )
            return await self.handle(records)

    async def _dead_letter(self, letters: list[DeadLetter]) -> None:
        if not letters:
            return
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

    def _settled(self) -> None:
        """Nothing waits any more: the watchdog's grace and the back-off start again."""
        self.progress.progressed()
        self.backoff.reset()

    def _rewind(
        self, consumer: Consumer, batch: Mapping[TopicPartition, list[ConsumerRecord]]
    ) -> None:
        try:
            for tp, rs in batch.items():
                if rs and tp in consumer.assignment():
                    consumer.seek(tp, rs[0].offset)
        except Exception as exc:
            raise ClientError("seek") from exc

    async def _report_lag(self, consumer: Consumer) -> None:
        """Lag from the high watermark of the last fetch (``end_offsets`` can be stale
        on some brokers), at most once a second; it tells the watchdog whether records
        wait. A partition revoked meanwhile, or whose position does not come back in time,
        is skipped (its lag unknown): a rebalance must not recreate the consumer."""
        now = time.monotonic()
        if now - self._lag_reported_at < 1.0:
            return
        self._lag_reported_at = now
        assignment = set(consumer.assignment())
        known, waiting = 0, 0
        for tp in assignment:
            if tp not in consumer.assignment():  # revoked while another one was awaited
                continue
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            try:
                async with self._client("lag"), asyncio.timeout(LAG_PROBE_SECONDS):
                    position = await consumer.position(tp)
            except ClientError as exc:
                if isinstance(exc.__cause__, TimeoutError | IllegalStateError):
                    continue  # too slow, or revoked meanwhile: lag unknown, not an error
                raise
            lag = max(0, highwater - position)
            self.metrics.lag.labels(tp.topic, str(tp.partition)).set(lag)
            known += 1
            waiting += lag
        if waiting:
            self.progress.waiting()
        elif assignment and known == len(assignment):
            self._settled()

    @contextlib.asynccontextmanager
    async def _client(self, stage: str, extra: float = 0.0) -> AsyncIterator[None]:
        """Every call into the client: bounded in time, its errors tagged with the stage."""
        try:
            async with asyncio.timeout(self._client_timeout + extra):
                yield
        except Exception as exc:
            raise ClientError(stage) from exc

    async def _close(self) -> None:
        consumer, self.consumer = self.consumer, None
        if consumer is None:
            return
        try:
            async with asyncio.timeout(self._client_timeout):
                await consumer.stop()
        except Exception:
            log.warning("the consumer did not stop cleanly", exc_info=True)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
