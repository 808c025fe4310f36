"""Helpers for tests (and the benchmarks): reading topics back, waiting with bounded time."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from corridor.devstack import free_ports, wait_for_http

T = TypeVar("T")


async def read_records(
    bootstrap_servers: str,
    topic: str,
    until: Callable[[list[ConsumerRecord]], bool] | None = None,
    within: float = 20.0,
) -> list[ConsumerRecord]:
    """Read ``topic`` from the beginning (no consumer group) until ``until(records)``; or,
    without ``until``, everything in it now: to each partition's end offset (or the high
    watermark seen while reading, if later). ``TimeoutError`` after ``within`` seconds.

    The one topic reader of the tests and the benchmarks (bench/reconcile.py, bench/fuzz.py).
    """
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[ConsumerRecord] = []

    async def fetch(timeout_ms: int) -> None:
        batch = await consumer.getmany(timeout_ms=timeout_ms)
        records.extend(r for rs in batch.values() for r in rs)

    try:
        async with asyncio.timeout(within):
            if until is not None:
                while not until(records):
                    await fetch(200)
                return records
            while not consumer.assignment():
                await fetch(100)
            ends = await consumer.end_offsets(list(consumer.assignment()))
            while True:
                positions = {tp: await consumer.position(tp) for tp in consumer.assignment()}
                if all(
                    positions[tp] >= max(ends[tp], consumer.highwater(tp) or 0) for tp in positions
                ):
                    return records
                await fetch(200)
    finally:
        await consumer.stop()


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


SERVICE_NAMES = ("ingest", "tracker", "tariff", "webhooks")


def start_run_command(
    data_dir: Path, *extra: str
) -> tuple[subprocess.Popen[bytes], dict[str, int]]:
    """Start the README's run command (``corridor run``) on free ports; a private broker."""
    ports = free_ports(("kafka", *SERVICE_NAMES))
    argv = [
        sys.executable, "-m", "corridor.cli", "run",
        "--data-dir", str(data_dir),
        "--kafka-port", str(ports["kafka"]),
        "--ingest-port", str(ports["ingest"]),
        "--tracker-port", str(ports["tracker"]),
        "--tariff-port", str(ports["tariff"]),
        "--webhooks-port", str(ports["webhooks"]),
        *extra,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return process, ports


@contextlib.contextmanager
def running_stack(data_dir: Path, *extra: str) -> Iterator[dict[str, str]]:
    """The run command (no demo traffic unless ``extra`` asks), ready; the services' base
    URLs by name. Stopped (SIGTERM, then SIGKILL after 30 s) on leaving."""
    process, ports = start_run_command(data_dir, *extra)
    try:
        wait_until_ready(ports)
        yield {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_until_ready(ports: dict[str, int], within: float = 60.0) -> float:
    """Wait for every service's ``/readyz``; returns the seconds it took."""
    started = time.monotonic()
    for name in SERVICE_NAMES:
        remaining = max(1.0, within - (time.monotonic() - started))
        wait_for_http(f"http://127.0.0.1:{ports[name]}/readyz", timeout=remaining)
    return time.monotonic() - started
