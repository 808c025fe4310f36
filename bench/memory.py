"""Resident memory of each service while a million events flow through the stack.

Journeys are generated on the fly (never held in memory all at once), posted to
``POST /v1/events/batch`` in batches of 100 per carrier, applied by the tracker and the
tariff consumer (PostgreSQL). The resident set size of each service is sampled as the
tracker catches up; flat means it does not grow per event.

    python -m bench.memory                  # 1,000,000 events
    python -m bench.memory --events 100000  # a shorter run
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.stack import Stack, StackOptions
from corridor.journeys import plan_journey
from corridor.topology import load_topology
from services.ingest.simulator import carrier_key

BATCH = 100


def journeys(seed: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """(carrier, body) of endless journeys, all in the past."""
    rng = random.Random(seed)
    topology = load_topology()
    # Journeys last at most ~22 days: starting 25 days ago, every event is in the past and
    # younger than the 30 days ingest accepts (MAX_EVENT_AGE_SECONDS).
    start = datetime.now(UTC) - timedelta(days=25)
    for number in range(10**9):
        shipment = f"MEM-{seed}-{number:07d}"
        for post in plan_journey(rng, topology, start, shipment):
            yield post.carrier, post.body


async def applied(client: httpx.AsyncClient, tracker: str) -> float:
    text = (await client.get(f"{tracker}/metrics")).text
    for family in text_string_to_metric_families(text):
        if family.name == "corridor_tracker_events":
            return sum(
                s.value
                for s in family.samples
                # Every new event is counted once: applied, or set aside (held until its
                # booking arrives, then applied by a re-fold without being counted again).
                if s.name.endswith("_total") and s.labels.get("outcome") in ("applied", "set_aside")
            )
    return 0.0


async def post_batches(
    stack: Stack, total: int, concurrency: int, progress: dict[str, int]
) -> None:
    url = f"{stack.url('ingest')}/v1/events/batch"
    slots = asyncio.Semaphore(concurrency)
    buffers: dict[str, list[dict[str, Any]]] = defaultdict(list)
    tasks: set[asyncio.Task[None]] = set()
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=concurrency)) as c:

        async def send(carrier: str, events: list[dict[str, Any]]) -> None:
            try:
                for _attempt in range(20):
                    response = await c.post(
                        url,
                        json={"events": events},
                        headers={"authorization": f"Bearer {carrier_key(carrier)}"},
                    )
                    if response.status_code == 200:
                        results = response.json()["results"]
                        progress["accepted"] += sum(r["status"] == "accepted" for r in results)
                        return
                    await asyncio.sleep(0.5)
            finally:
                slots.release()

        for sent, (carrier, body) in enumerate(journeys(seed=3), start=1):
            buffers[carrier].append(body)
            if len(buffers[carrier]) == BATCH or sent == total:
                for who in [carrier] if sent < total else list(buffers):
                    if buffers[who]:
                        await slots.acquire()
                        task = asyncio.create_task(send(who, buffers.pop(who)))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
            progress["posted"] = sent
            if sent >= total:
                break
        await asyncio.gather(*tasks)


async def run(total: int, workdir: Path) -> None:
    services = ("ingest", "tracker", "tariff")
    async with Stack(workdir, StackOptions(partitions=6)) as stack:
        progress = {"posted": 0, "accepted": 0}
        print(f"memory: {total:,} events through the stack (PostgreSQL)", flush=True)
        print(f"{'applied':>10} " + " ".join(f"{s + ' MiB':>12}" for s in services), flush=True)
        loader = asyncio.create_task(post_batches(stack, total, 8, progress))
        marks = [int(total * f) for f in (0.05, 0.25, 0.5, 0.75, 1.0)]
        samples: list[tuple[float, list[float]]] = []
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=10) as client:
            while marks:
                done = await applied(client, stack.url("tracker"))
                if done >= marks[0] or (loader.done() and done >= progress["accepted"]):
                    rss = [stack.rss_bytes(s) / 2**20 for s in services]
                    samples.append((done, rss))
                    print(f"{done:>10,.0f} " + " ".join(f"{r:>12.0f}" for r in rss), flush=True)
                    marks.pop(0)
                    if loader.done() and done >= progress["accepted"]:
                        break
                if time.monotonic() - started > 3600:
                    print("gave up after an hour", flush=True)
                    break
                await asyncio.sleep(1.0)
        await loader
        took = time.monotonic() - started
        print(f"accepted {progress['accepted']:,} events in {took:.0f}s", flush=True)
        if len(samples) >= 2:
            (first_n, first), (last_n, last) = samples[0], samples[-1]
            per_100k = [
                (b - a) / max(1.0, (last_n - first_n) / 100_000)
                for a, b in zip(first, last, strict=True)
            ]
            print(
                "growth per 100k events after warm-up (MiB): "
                + ", ".join(f"{s} {g:+.1f}" for s, g in zip(services, per_100k, strict=True)),
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="corridor-memory-") as tmp:
        asyncio.run(run(args.events, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
