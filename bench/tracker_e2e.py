"""The tracker's end-to-end benchmark (``python -m bench.tracker --only e2e``): the
embedded broker, ingest and the tracker as processes (bench/stack.py); valid journey events
posted at a steady rate; from each ``202`` to the moment the shipment's state is published,
and, for a sample, to the moment ``GET /v1/shipments/{id}`` shows the event. See
bench/tracker.py for the whole benchmark and its command line.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer
from prometheus_client.parser import text_string_to_metric_families

from bench.stack import Stack, StackOptions
from corridor.journeys import Post
from corridor.kafka import SHIPMENTS_TOPIC
from corridor.principals import demo_key
from corridor.v1 import shipments_pb2
from services.ingest.simulator import carrier_key, sample_posts

OPERATOR = {"Authorization": f"Bearer {demo_key('corridor-ops')}"}


class StateWatch:
    """Reads ``cargo.shipments.v1`` during the run: when each shipment's published state
    first counted n events (a state is published right after the commit that made it
    visible in the API, so this is an upper bound of the visibility, and costs the tracker
    nothing)."""

    def __init__(self, bootstrap: str) -> None:
        self.seen: dict[str, list[tuple[int, float]]] = {}
        self._consumer = AIOKafkaConsumer(
            SHIPMENTS_TOPIC,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="latest",
            enable_auto_commit=False,
            fetch_max_wait_ms=10,  # measure the tracker, not the fetch wait
        )

    async def run(self, stop: asyncio.Event) -> None:
        await self._consumer.start()
        try:
            while not stop.is_set():
                batch = await self._consumer.getmany(timeout_ms=50)
                now = time.time()
                for records in batch.values():
                    for record in records:
                        state = shipments_pb2.ShipmentState.FromString(record.value)
                        self.seen.setdefault(state.shipment_id, []).append(
                            (state.counts.events, now)
                        )
        finally:
            await self._consumer.stop()

    def visible_at(self, shipment_id: str, events: int) -> float | None:
        for count, at in self.seen.get(shipment_id, ()):
            if count >= events:
                return at
        return None


class ApiWatch:
    """Polls ``GET /v1/shipments/{id}`` for a few acknowledged events (every 10 ms, until
    ``counts.events`` includes them): the visibility itself, on a small sample so that the
    polling hardly disturbs the tracker."""

    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self.client = client
        self.url = url
        self.latencies: list[float] = []
        self.tasks: list[asyncio.Task[None]] = []

    def watch(self, shipment_id: str, events: int, acknowledged: float) -> None:
        self.tasks.append(asyncio.create_task(self._poll(shipment_id, events, acknowledged)))

    async def _poll(self, shipment_id: str, events: int, acknowledged: float) -> None:
        deadline = acknowledged + 30
        while time.time() < deadline:
            response = await self.client.get(f"{self.url}/v1/shipments/{shipment_id}")
            if response.status_code == 200 and response.json()["counts"]["events"] >= events:
                self.latencies.append(max(0.0, time.time() - acknowledged))
                return
            await asyncio.sleep(0.01)


async def _answer(reader: asyncio.StreamReader) -> int:
    """The status of one HTTP/1.1 response (its body read and dropped)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and int(value):
            await reader.readexactly(int(value))
    return status


async def post_steadily(
    url: str,
    posts: Sequence[Post],
    rate: float,
    on_accepted: Callable[[Post, float], None],
    connections: int = 32,
) -> tuple[float, Counter[int]]:
    """Post the i-th event at ``start + i / rate`` over keep-alive connections, each as its
    demo carrier, calling ``on_accepted`` at each ``202``. Raw HTTP/1.1 on asyncio streams:
    an HTTP library would cost more CPU than the services under test on a 2-core machine."""
    parsed = httpx.URL(url)
    host, port = str(parsed.host), int(parsed.port or 80)
    statuses: Counter[int] = Counter()
    state = {"next": 0}
    start = time.perf_counter() + 0.05

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while state["next"] < len(posts):
                index = state["next"]
                state["next"] += 1
                delay = start + index / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                post = posts[index]
                body = json.dumps(post.body).encode()
                writer.write(
                    f"POST /v1/events HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    f"Authorization: Bearer {carrier_key(post.carrier)}\r\n"
                    f"Content-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                status = await _answer(reader)
                statuses[status] += 1
                if status == 202:
                    on_accepted(post, time.time())
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return time.perf_counter() - start, statuses


async def end_to_end(rate: float, seconds: float, api_every: int) -> None:
    warmup = sample_posts(200, seed=3)
    posts = sample_posts(int(rate * seconds), seed=11)
    workdir = Path(tempfile.mkdtemp(prefix="bench-tracker-"))
    options = StackOptions(database="postgres", services=("ingest", "tracker"))
    print(f"end to end at {rate:g} events/s for {seconds:g} s, PostgreSQL (logs: {workdir})")
    async with Stack(workdir, options) as stack:
        ingest, tracker = stack.url("ingest"), stack.url("tracker")
        # Shipment reads need a principal: an operator reads every shipment.
        async with httpx.AsyncClient(timeout=30, headers=OPERATOR) as reader:
            await post_steadily(ingest, warmup, rate, lambda post, at: None)
            last = warmup[-1].body["shipment_id"]  # consumer joined, caches warm: go
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if (await reader.get(f"{tracker}/v1/shipments/{last}")).status_code == 200:
                    break
                await asyncio.sleep(0.2)
            states = StateWatch(stack.bootstrap_servers)
            api = ApiWatch(reader, tracker)
            stop = asyncio.Event()
            watching = asyncio.create_task(states.run(stop))
            await asyncio.sleep(1.0)  # the state reader is positioned at the end
            counted: dict[str, int] = {}
            acknowledged: list[tuple[str, int, float]] = []

            def accepted(post: Post, at: float) -> None:
                shipment_id = post.body["shipment_id"]
                counted[shipment_id] = counted.get(shipment_id, 0) + 1
                acknowledged.append((shipment_id, counted[shipment_id], at))
                if len(acknowledged) % api_every == 0:
                    api.watch(shipment_id, counted[shipment_id], at)

            elapsed, statuses = await post_steadily(ingest, posts, rate, accepted)
            await asyncio.gather(*api.tasks)
            for _ in range(100):  # up to 10 s for the last states
                if all(states.visible_at(s, n) for s, n, _ in acknowledged[-50:]):
                    break
                await asyncio.sleep(0.1)
            stop.set()
            await watching
            metrics = (await reader.get(f"{tracker}/metrics")).text
    print(
        f"  posted {len(posts)} in {elapsed:.1f} s ({len(posts) / elapsed:.0f}/s), "
        f"answers {dict(statuses)}"
    )
    via_topic = []
    for shipment_id, count, at in acknowledged:
        visible = states.visible_at(shipment_id, count)
        if visible is not None:
            via_topic.append(max(0.0, visible - at))
    _report("202 -> state published (every event)", via_topic, len(acknowledged))
    _report("202 -> visible in GET /v1/shipments/{id} (sample)", api.latencies, len(api.tasks))
    print("  tracker's recorded_to_applied histogram: " + _histogram(metrics))


def _report(what: str, latencies: list[float], of: int) -> None:
    if len(latencies) < 2:
        print(f"  {what}: too few samples ({len(latencies)})")
        return
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    print(
        f"  {what}: p50 {q[49] * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms, "
        f"p99 {q[98] * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms "
        f"({len(latencies)} of {of} seen)"
    )


def _histogram(metrics: str) -> str:
    for family in text_string_to_metric_families(metrics):
        if family.name != "corridor_tracker_recorded_to_applied_seconds":
            continue
        buckets = [
            (float(s.labels["le"]), s.value) for s in family.samples if s.name.endswith("_bucket")
        ]
        total = max(v for _, v in buckets) if buckets else 0
        if not total:
            return "empty"
        parts = []
        for q in (0.5, 0.95, 0.99):
            bound = next(le for le, v in buckets if v >= q * total)
            parts.append(f"p{int(q * 100)} <= {bound * 1000:g} ms")
        return ", ".join(parts) + f" ({total:.0f} events)"
    return "absent"
