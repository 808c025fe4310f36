"""The consumer loop on a fake client: every client error is retried with a new consumer,
a failed batch is rewound, the loop ends only when asked, and a loop kept from
progressing goes not ready, then not alive."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaConnectionError

from corridor.kafka import Backoff, ConsumerLoop, DeadLetter, KafkaMetrics, Progress, Publisher
from corridor.metrics import make_registry
from corridor.settings import KafkaSettings
from tests.support import eventually

TP = TopicPartition("t", 0)


class Log:
    """One partition, its committed offset, and the faults still to inject, by stage."""

    def __init__(self, size: int, faults: Mapping[str, int] | None = None) -> None:
        self.records = [
            ConsumerRecord("t", 0, n, 0, 0, b"k", b"v", None, 1, 1, []) for n in range(size)
        ]
        self.committed = 0
        self.faults = Counter(faults or {})
        self.consumers = 0

    def fail(self, stage: str) -> None:
        if self.faults[stage] > 0:
            self.faults[stage] -= 1
            raise KafkaConnectionError(f"injected at {stage}")


class FakeConsumer:
    def __init__(self, log: Log) -> None:
        self.log = log
        self.position_ = 0
        log.consumers += 1

    async def start(self) -> None:
        self.log.fail("start")
        self.position_ = self.log.committed

    async def stop(self) -> None:
        pass

    async def getmany(
        self, timeout_ms: int = 0, max_records: int | None = None
    ) -> Mapping[TopicPartition, list[ConsumerRecord]]:
        self.log.fail("fetch")
        batch = self.log.records[self.position_ : self.position_ + (max_records or 500)]
        self.position_ += len(batch)
        if not batch:
            await asyncio.sleep(timeout_ms / 1000)
        return {TP: batch} if batch else {}

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        self.log.fail("commit")
        self.log.committed = offsets[TP]

    async def position(self, partition: TopicPartition) -> int:
        self.log.fail("lag")
        if self.log.faults["revoked"] > 0:
            self.log.faults["revoked"] -= 1
            raise IllegalStateError(f"Partition {partition} is not assigned")
        return self.position_

    def assignment(self) -> set[TopicPartition]:
        return {TP}

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.log.fail("seek")
        self.position_ = offset

    def highwater(self, partition: TopicPartition) -> int | None:
        return len(self.log.records)


class Handler:
    def __init__(self, failures: int = 0) -> None:
        self.seen: list[int] = []
        self.failures = failures
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, records: list[ConsumerRecord]) -> list[DeadLetter]:
        await self.release.wait()
        if self.failures:
            self.failures -= 1
            raise RuntimeError("database down")
        self.seen += [r.offset for r in records]
        return []


def make_loop(log: Log, handle: Handler, progress: Progress | None = None) -> ConsumerLoop:
    settings = KafkaSettings()
    metrics = KafkaMetrics(make_registry(), "test")
    return ConsumerLoop(
        settings,
        "g",
        ["t"],
        handle,
        Publisher(settings, "test"),
        metrics,
        client_id="test",
        max_records=10,
        progress=progress,
        backoff=Backoff(base=0.001, cap=0.01),
        consumer_factory=lambda: FakeConsumer(log),
    )


async def run_until(loop: ConsumerLoop, log: Log) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await until(lambda: log.committed == len(log.records))
    assert not task.done()  # nothing ended the loop but the stop
    stop.set()
    await asyncio.wait_for(task, 5)


async def until(condition: Callable[[], bool]) -> None:
    async def probe() -> bool | None:
        return True if condition() else None

    await eventually(probe, within=10, interval=0.005)


def client_errors(loop: ConsumerLoop, stage: str) -> float:
    return float(loop.metrics.client_errors.labels(stage)._value.get())


async def test_a_client_error_at_every_stage_is_retried_with_a_new_consumer() -> None:
    log = Log(45, {"start": 2, "fetch": 2, "commit": 2, "lag": 1})
    handler = Handler()
    loop = make_loop(log, handler)
    await run_until(loop, log)
    assert set(handler.seen) == set(range(45))  # nothing skipped
    assert log.committed == 45
    assert sum(log.faults.values()) == 0
    assert log.consumers == 1 + 7  # one new consumer per client error
    assert {s: client_errors(loop, s) for s in ("start", "fetch", "commit", "lag")} == {
        "start": 2,
        "fetch": 2,
        "commit": 2,
        "lag": 1,
    }
    assert loop.ended


async def test_a_failed_batch_is_rewound_and_retried_on_the_same_consumer() -> None:
    log = Log(25)
    handler = Handler(failures=3)
    loop = make_loop(log, handler)
    await run_until(loop, log)
    assert handler.seen == list(range(25))  # in order, each once
    assert log.consumers == 1
    assert float(loop.metrics.batch_failures._value.get()) == 3


async def test_a_partition_revoked_during_the_lag_report_keeps_the_consumer() -> None:
    log = Log(25, {"revoked": 3})
    loop = make_loop(log, Handler())
    await run_until(loop, log)
    assert log.faults["revoked"] < 3  # the report met it
    assert log.consumers == 1
    assert client_errors(loop, "lag") == 0


async def test_a_failed_rewind_gets_a_new_consumer_that_resumes_from_the_commit() -> None:
    log = Log(25, {"seek": 1})
    handler = Handler(failures=1)
    loop = make_loop(log, handler)
    await run_until(loop, log)
    assert handler.seen == list(range(25))
    assert log.consumers == 2
    assert client_errors(loop, "seek") == 1


async def test_a_broker_that_never_answers_does_not_end_the_loop_but_the_stop_does() -> None:
    log = Log(5, {"start": 10**9})
    loop = make_loop(log, Handler())
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await until(lambda: log.consumers >= 20)
    assert not task.done()
    assert not loop.started
    assert not loop.ready()
    stop.set()
    await asyncio.wait_for(task, 5)


class FakeClock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("stuck_by", ["a blocked handler", "a client that keeps failing"])
async def test_a_loop_kept_from_progressing_goes_not_ready_then_not_alive(stuck_by: str) -> None:
    clock = FakeClock()
    faults = {} if stuck_by == "a blocked handler" else {"fetch": 10**9}
    log = Log(5, faults)
    handler = Handler()
    handler.release.clear()
    loop = make_loop(log, handler, Progress(ready_grace=30, live_grace=120, clock=clock))
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    # Until the loop has seen the records (or the error).
    await until(lambda: loop.started and loop.progress.waiting_since is not None)
    assert (loop.ready(), loop.alive()) == (True, True)
    clock.now += 31
    assert (loop.ready(), loop.alive()) == (False, True)
    clock.now += 90
    assert (loop.ready(), loop.alive()) == (False, False)
    handler.release.set()
    stop.set()
    await asyncio.wait_for(task, 5)
