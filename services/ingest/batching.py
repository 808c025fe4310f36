"""Publishes the records of concurrent requests together, at no cost in latency.

Every record handed over during one turn of the event loop goes to the broker in a single
``publish_many`` call at the end of that turn. Under load one turn handles many requests,
so the producer wakes up, encodes and sends once for all of them instead of once each;
when idle a record waits for nothing but the end of the current turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from corridor.kafka import OutgoingRecord, PublishError, PublishTimeoutError

Result = PublishTimeoutError | PublishError | None
T = TypeVar("T")
R = TypeVar("R")


class EventPublisher(Protocol):
    async def publish_many(self, records: Sequence[OutgoingRecord]) -> list[Result]: ...


def _loop_of(owner: TurnBatcher | Coalescer[Any, Any]) -> asyncio.AbstractEventLoop:
    """The running loop, remembered: ``asyncio.get_running_loop`` makes a system call
    (``getpid``) each time, which on some virtual machines is a sizeable share of the hot
    path's CPU."""
    loop = owner._loop
    if loop is None or loop.is_closed():
        loop = owner._loop = asyncio.get_running_loop()
    return loop


class TurnBatcher:
    def __init__(self, publisher: EventPublisher) -> None:
        self.publisher = publisher
        self._loop: asyncio.AbstractEventLoop | None = None
        # One entry per caller: its records and the future of their results.
        self._pending: list[tuple[Sequence[OutgoingRecord], asyncio.Future[list[Result]]]] = []
        self._flushing: set[asyncio.Task[None]] = set()

    async def publish_many(self, records: Sequence[OutgoingRecord]) -> list[Result]:
        if not records:
            return []
        loop = _loop_of(self)
        if not self._pending:
            loop.call_soon(self._flush)
        future: asyncio.Future[list[Result]] = loop.create_future()
        self._pending.append((records, future))
        return await future

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending:
            task = asyncio.create_task(self._publish(pending))
            self._flushing.add(task)
            task.add_done_callback(self._flushing.discard)

    async def _publish(
        self, pending: list[tuple[Sequence[OutgoingRecord], asyncio.Future[list[Result]]]]
    ) -> None:
        records = [record for group, _ in pending for record in group]
        results: list[Result]
        try:
            results = await self.publisher.publish_many(records)
        except Exception as exc:  # a publisher that raises instead of reporting
            results = [PublishError(repr(exc))] * len(records)
        start = 0
        for group, future in pending:
            end = start + len(group)
            if not future.done():  # the caller may have been cancelled (client gone)
                future.set_result(results[start:end])
            start = end


class Coalescer(Generic[T, R]):
    """The same, for any call that takes a list and answers one result per item: the
    items of every caller of one event-loop turn go to ``call`` together (one database
    statement for all of them); each caller gets its own results, or the exception.

    One call at a time: what arrives while a call runs waits for it and then goes in the
    next one, all together (a group commit). Database writers never contend for a lock
    (SQLite would make them sleep), and the busier the service, the larger each call.
    """

    def __init__(self, call: Callable[[list[T]], Awaitable[list[R]]]) -> None:
        self.call = call
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[tuple[Sequence[T], asyncio.Future[list[R]]]] = []
        self._running: set[asyncio.Task[None]] = set()

    async def __call__(self, items: Sequence[T]) -> list[R]:
        if not items:
            return []
        loop = _loop_of(self)
        if not self._pending and not self._running:
            loop.call_soon(self._flush)
        future: asyncio.Future[list[R]] = loop.create_future()
        self._pending.append((items, future))
        return await future

    def _flush(self) -> None:
        if self._running:
            return  # the running call flushes when it is done
        pending, self._pending = self._pending, []
        if pending:
            task = asyncio.create_task(self._run(pending))
            self._running.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._pending:
            self._flush()

    async def _run(self, pending: list[tuple[Sequence[T], asyncio.Future[list[R]]]]) -> None:
        try:
            results = await self.call([item for group, _ in pending for item in group])
        except Exception as exc:
            for _, future in pending:
                if not future.done():
                    future.set_exception(exc)
            return
        start = 0
        for group, future in pending:
            end = start + len(group)
            if not future.done():
                future.set_result(results[start:end])
            start = end
