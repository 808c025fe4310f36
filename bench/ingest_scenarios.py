"""The scenarios of the ingest benchmark (bench/ingest.py): the request data, raw aiokafka
producing, HTTP load through wrk or the Python generator (bench/ingest_load.py), the
fixed-rate latency run, and the servers under test as processes."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from corridor.devstack import ManagedProcess, wait_for_http
from services.ingest.api import reported
from services.ingest.records import event_records
from services.ingest.schemas import EventIn
from services.ingest.simulator import sample_posts

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WRK_SCRIPT = BENCH / "ingest_wrk.lua"
BATCH_SIZE = 100


@dataclass
class HttpFigures:
    name: str
    requests_per_second: float
    events_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    tool: str


def wrk_version() -> str | None:
    if shutil.which("wrk") is None:
        return None
    done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).splitlines()[0].split(" [")[0].strip()


def run_wrk(url: str, data: Path, connections: int, seconds: float) -> dict[str, Any]:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
    argv += ["-s", str(WRK_SCRIPT), url, "--", str(data)]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


def http_load(
    name: str,
    port: int,
    path: str,
    data: Path,
    items: list[tuple[str, bytes]],
    connections: int,
    seconds: float,
    warmup: float,
    events_per_request: int,
    use_wrk: bool,
) -> HttpFigures:
    url = f"http://127.0.0.1:{port}{path}"
    if use_wrk:
        if warmup:
            run_wrk(url, data, connections, warmup)
        s = run_wrk(url, data, connections, seconds)
        rps = s["requests"] / (s["duration_us"] / 1e6)
        p50, p90, p99 = (s[k] / 1000 for k in ("p50_us", "p90_us", "p99_us"))
        non_2xx, errors, tool = s["non_2xx"], s["socket_errors"], "wrk"
    else:
        from bench.ingest_load import build_requests, run_load

        raw = build_requests("127.0.0.1", port, path, items)
        if warmup:
            asyncio.run(run_load("127.0.0.1", port, raw, connections, warmup))
        r = asyncio.run(run_load("127.0.0.1", port, raw, connections, seconds))
        rps = r.per_second
        p50, p90, p99 = (r.percentile(p) * 1000 for p in (50, 90, 99))
        non_2xx, errors, tool = r.non_2xx, r.socket_errors, "python (asyncio streams)"
    return HttpFigures(name, rps, rps * events_per_request, p50, p90, p99, non_2xx, errors, tool)


def write_data(directory: Path, count: int) -> tuple[Path, Path, list[Any], list[Any]]:
    """Single-event and 100-event batch request data, one ``key<TAB>body`` a line."""
    posts = sample_posts(count, seed=7)
    single = [(f"demo-{p.carrier}", json.dumps(p.body).encode()) for p in posts]
    by_carrier: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for post in posts:
        by_carrier[post.carrier].append(post.body)
    batches = [
        (f"demo-{carrier}", json.dumps({"events": bodies[i : i + BATCH_SIZE]}).encode())
        for carrier, bodies in by_carrier.items()
        for i in range(0, len(bodies) - BATCH_SIZE + 1, BATCH_SIZE)
    ]
    single_file, batch_file = directory / "single.tsv", directory / "batch.tsv"
    for file, items in ((single_file, single), (batch_file, batches)):
        with file.open("wb") as out:
            for key, body in items:
                out.write(key.encode() + b"\t" + body + b"\n")
    return single_file, batch_file, single, batches


async def raw_produce(bootstrap: str, count: int) -> tuple[float, int]:
    """records/s of aiokafka alone, sending the very records ingest would publish."""
    now = datetime.now(UTC)
    posts = sample_posts(min(count, 20_000), seed=11)
    events = [(reported(EventIn.model_validate_json(json.dumps(p.body))), p.carrier) for p in posts]
    records = [event_records([event], carrier, now)[0] for event, carrier in events]
    size = sum(len(r.value) + sum(len(k) + len(v) for k, v in r.headers) for r in records)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=2, max_batch_size=256 * 1024
    )
    await producer.start()
    try:

        async def send(n: int) -> None:
            pending = []
            for i in range(n):
                r = records[i % len(records)]
                pending.append(
                    await producer.send(r.topic, r.value, key=r.key.encode(), headers=r.headers)
                )
                if len(pending) >= 10_000:
                    await asyncio.gather(*pending)
                    pending.clear()
            await asyncio.gather(*pending)

        await send(2_000)  # warm up: metadata, connections
        started = time.perf_counter()
        await send(count)
        elapsed = time.perf_counter() - started
    finally:
        await producer.stop()
    return count / elapsed, size // len(records)


def steady_latency(
    port: int, items: list[tuple[str, bytes]], rate: float, seconds: float
) -> HttpFigures:
    """Latency below saturation: single events at a fixed rate, each timed from when it was
    due to its 202 (so including the broker's acknowledgement)."""
    from bench.ingest_load import build_requests, run_at_rate

    raw = build_requests("127.0.0.1", port, "/v1/events", items)
    r = asyncio.run(run_at_rate("127.0.0.1", port, raw, rate, int(rate * seconds), 32))
    p50, p90, p99 = (r.percentile(p) * 1000 for p in (50, 90, 99))
    return HttpFigures(
        f"ingest POST /v1/events at {rate:g}/s", r.per_second, r.per_second, p50, p90, p99,
        r.non_2xx, r.socket_errors, "python (asyncio streams), fixed rate",
    )  # fmt: skip


def serve(name: str, argv: list[str], env: dict[str, str], ready_url: str) -> ManagedProcess:
    proc = ManagedProcess(name, argv, env=env, cwd=ROOT)
    proc.start()
    wait_for_http(ready_url, timeout=60)
    return proc
