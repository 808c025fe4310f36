"""Ingest benchmark: one command, every figure of docs/performance.md side by side.

    .venv/bin/python -m bench.ingest [--quick] [--json results.json]

In one run, on one embedded (Tansu) broker, with one uvicorn worker per server:
1. raw aiokafka producing ingest's own records (acks=all, the publisher's batching
   settings): records/s, the yardstick of the batch endpoint;
2. a trivial FastAPI endpoint that parses the same JSON body (bench/ingest_baseline.py,
   same server setup): requests/s, the yardstick of the single-event endpoint;
3. ingest ``POST /v1/events``: requests/s and latency percentiles;
4. ingest ``POST /v1/events/batch`` with 100 events a request: events/s;
5. ingest ``POST /v1/events`` at a steady rate below saturation (``--steady-rate``,
   default 1000/s, a fixed-rate Python client): latency percentiles.
The events are realistic corridor posts (the simulator's journeys). Load comes from wrk
(``apt-get install -y wrk``) when installed, else from a Python generator that shares the
CPU with the server and so gives lower figures; the output says which was used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from corridor.devstack import EmbeddedBroker, ManagedProcess, free_port, wait_for_http
from corridor.kafka import TOPICS, ensure_topics
from corridor.settings import KafkaSettings
from services.ingest.api import reported
from services.ingest.records import event_records
from services.ingest.schemas import EventIn
from services.ingest.simulator import sample_posts

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WRK_SCRIPT = BENCH / "ingest_wrk.lua"
BATCH_SIZE = 100
TARGET_SINGLE = 0.50  # of the trivial endpoint's requests/s
TARGET_BATCH = 0.25  # of raw aiokafka's records/s


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


def _wrk_version() -> str | None:
    if shutil.which("wrk") is None:
        return None
    done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).splitlines()[0].split(" [")[0].strip()


def _run_wrk(url: str, data: Path, connections: int, seconds: float) -> dict[str, Any]:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
    argv += ["-s", str(WRK_SCRIPT), url, "--", str(data)]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


def _load(
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
            _run_wrk(url, data, connections, warmup)
        s = _run_wrk(url, data, connections, seconds)
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


def _write_data(directory: Path, count: int) -> tuple[Path, Path, list[Any], list[Any]]:
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


async def _raw_produce(bootstrap: str, count: int) -> tuple[float, int]:
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


def _steady(port: int, items: list[tuple[str, bytes]], rate: float, seconds: float) -> HttpFigures:
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


def _serve(name: str, argv: list[str], env: dict[str, str], ready_url: str) -> ManagedProcess:
    proc = ManagedProcess(name, argv, env=env, cwd=ROOT)
    proc.start()
    wait_for_http(ready_url, timeout=60)
    return proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (about 1 minute)")
    parser.add_argument("--seconds", type=float, help="measured seconds per HTTP scenario")
    parser.add_argument("--connections", type=int, default=64, help="for single events")
    parser.add_argument("--batch-connections", type=int, default=16)
    parser.add_argument("--python-load", action="store_true", help="do not use wrk")
    parser.add_argument(
        "--steady-rate", type=float, default=1000.0, help="events/s of the latency scenario"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--database-url",
        help="ingest's database (bookings, ledger); default: a scratch SQLite file. "
        "PostgreSQL as in production: postgresql+asyncpg://user@host/an_empty_database",
    )
    args = parser.parse_args()
    seconds = args.seconds or (5.0 if args.quick else 15.0)
    warmup = 1.0 if args.quick else 3.0
    raw_count = 50_000 if args.quick else 300_000
    wrk = None if args.python_load else _wrk_version()
    if wrk is None and not args.python_load:
        print("wrk not found (apt-get install -y wrk): using the Python load generator")
    sys.path.insert(0, str(BENCH))

    broker = EmbeddedBroker(free_port())
    broker.start_and_wait()
    processes: list[ManagedProcess] = [broker]
    try:
        settings = KafkaSettings(bootstrap_servers=broker.bootstrap_servers)
        asyncio.run(ensure_topics(settings, TOPICS, client_id="bench"))
        with tempfile.TemporaryDirectory(prefix="corridor-bench-") as tmp:
            single_file, batch_file, single, batches = _write_data(Path(tmp), 40_000)
            print(f"raw aiokafka: producing {raw_count} records ...", flush=True)
            raw_rate, record_bytes = asyncio.run(_raw_produce(broker.bootstrap_servers, raw_count))

            env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "INGEST_"))}
            env |= {"PYTHONPATH": os.pathsep.join([str(ROOT / "libs"), str(ROOT)])}
            base_port, ingest_port = free_port(), free_port()
            baseline = _serve(
                "baseline",
                [sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH), "ingest_baseline:app",
                 "--host", "127.0.0.1", "--port", str(base_port), "--loop", "uvloop",
                 "--http", "httptools", "--no-access-log", "--log-level", "warning"],
                env,
                f"http://127.0.0.1:{base_port}/openapi.json",
            )  # fmt: skip
            processes.append(baseline)
            print("baseline: trivial FastAPI endpoint ...", flush=True)
            base = _load(
                "baseline POST /v1/events", base_port, "/v1/events", single_file, single,
                args.connections, seconds, warmup, 1, wrk is not None,
            )  # fmt: skip
            baseline.stop()

            ingest_env = env | {
                "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
                "INGEST_PORT": str(ingest_port),
                "INGEST_LOG_LEVEL": "WARNING",
                "INGEST_ENVIRONMENT": "local",  # the demo keys
                "INGEST_DATABASE_URL": args.database_url or f"sqlite+aiosqlite:///{tmp}/ingest.db",
                # The benchmark measures throughput, not the (per-carrier) rate limit.
                "INGEST_RATE_LIMIT_PER_SECOND": "1e9",
                "INGEST_RATE_LIMIT_BURST": "1e9",
            }
            ingest = _serve(
                "ingest",
                [sys.executable, "-m", "services.ingest"],
                ingest_env,
                f"http://127.0.0.1:{ingest_port}/readyz",
            )
            processes.append(ingest)
            print("ingest: POST /v1/events ...", flush=True)
            one = _load(
                "ingest POST /v1/events", ingest_port, "/v1/events", single_file, single,
                args.connections, seconds, warmup, 1, wrk is not None,
            )  # fmt: skip
            print(f"ingest: POST /v1/events/batch ({BATCH_SIZE} events a request) ...", flush=True)
            many = _load(
                "ingest POST /v1/events/batch", ingest_port, "/v1/events/batch", batch_file,
                batches, args.batch_connections, seconds, warmup, BATCH_SIZE, wrk is not None,
            )  # fmt: skip
            print(f"ingest: POST /v1/events at a steady {args.steady_rate:g}/s ...", flush=True)
            steady = _steady(ingest_port, single, args.steady_rate, seconds)
    finally:
        for proc in reversed(processes):
            proc.stop()

    single_ratio = one.requests_per_second / base.requests_per_second
    batch_ratio = many.events_per_second / raw_rate
    tool = f"{wrk} (1 thread)" if wrk else "Python load generator"
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {platform.platform()}, "
        f"Python {platform.python_version()}",
        "mode": "quick" if args.quick else "full",
        "seconds_per_scenario": seconds,
        "load_tool": tool,
        "raw_aiokafka_records_per_second": raw_rate,
        "record_bytes": record_bytes,
        "http": [asdict(f) for f in (base, one, many, steady)],
        "single_vs_baseline": single_ratio,
        "batch_vs_raw_aiokafka": batch_ratio,
    }
    print()
    print(f"ingest benchmark ({report['mode']}, {seconds:g} s a scenario), load: {tool}")
    print(f"machine: {report['machine']}; broker: embedded Tansu; one uvicorn worker")
    print(f"{'raw aiokafka produce, acks=all':<40}{raw_rate:>10,.0f} records/s "
          f"({record_bytes} bytes each)")  # fmt: skip
    for f in (base, one, many, steady):
        unit = f"{f.events_per_second:>10,.0f} events/s" if f is many else (
            f"{f.requests_per_second:>10,.0f} req/s   ")  # fmt: skip
        print(f"{f.name:<40}{unit}  p50 {f.p50_ms:6.1f} ms  p90 {f.p90_ms:6.1f} ms  "
              f"p99 {f.p99_ms:6.1f} ms  non-2xx {f.non_2xx}")  # fmt: skip
    verdict = {True: "met", False: "NOT met"}
    print(f"single event: {single_ratio:.0%} of the trivial endpoint "
          f"(target >= {TARGET_SINGLE:.0%}: {verdict[single_ratio >= TARGET_SINGLE]})")  # fmt: skip
    print(f"batch: {batch_ratio:.0%} of raw aiokafka "
          f"(target >= {TARGET_BATCH:.0%}: {verdict[batch_ratio >= TARGET_BATCH]})")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    errors = sum(f.non_2xx + f.socket_errors for f in (one, many, steady))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
