"""Helpers for tests: reading topics back and waiting with bounded time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord

T = TypeVar("T")


async def read_records(
    bootstrap_servers: str,
    topic: str,
    until: Callable[[list[ConsumerRecord]], bool],
    within: float = 20.0,
) -> list[ConsumerRecord]:
    """Read ``topic`` from the beginning (no consumer group) until ``until(records)``."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        async with asyncio.timeout(within):
            while not until(records):
                batch = await consumer.getmany(timeout_ms=200)
                records += [r for rs in batch.values() for r in rs]
    finally:
        await consumer.stop()
    return records


async def eventually(
    probe: Callable[[], Awaitable[T | None]], within: float = 20.0, interval: float = 0.1
) -> T:
    """Poll ``probe`` until it returns something other than ``None`` (or time runs out)."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {within}s")
        await asyncio.sleep(interval)
