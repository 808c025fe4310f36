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
import sys
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from bench.ingest_scenarios import (
    BATCH_SIZE,
    BENCH,
    ROOT,
    HttpFigures,
    http_load,
    raw_produce,
    serve,
    steady_latency,
    write_data,
    wrk_version,
)
from corridor.devstack import EmbeddedBroker, ManagedProcess, free_port, free_ports
from corridor.kafka import TOPICS, ensure_topics
from corridor.settings import KafkaSettings

TARGET_SINGLE = 0.50  # of the trivial endpoint's requests/s
TARGET_BATCH = 0.25  # of raw aiokafka's records/s


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
    wrk = None if args.python_load else wrk_version()
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
            single_file, batch_file, single, batches = write_data(Path(tmp), 40_000)

            def single_events(name: str, port: int) -> HttpFigures:
                """The single-event load, the same against the baseline and ingest."""
                return http_load(
                    name, port, "/v1/events", single_file, single,
                    args.connections, seconds, warmup, 1, wrk is not None,
                )  # fmt: skip

            print(f"raw aiokafka: producing {raw_count} records ...", flush=True)
            raw_rate, record_bytes = asyncio.run(raw_produce(broker.bootstrap_servers, raw_count))

            env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "INGEST_"))}
            env |= {"PYTHONPATH": os.pathsep.join([str(ROOT / "libs"), str(ROOT)])}
            base_port, ingest_port = free_ports(("base", "ingest")).values()
            baseline = serve(
                "baseline",
                [sys.executable, "-m", "uvicorn", "--app-dir", str(BENCH), "ingest_baseline:app",
                 "--host", "127.0.0.1", "--port", str(base_port), "--loop", "uvloop",
                 "--http", "httptools", "--no-access-log", "--log-level", "warning"],
                env,
                f"http://127.0.0.1:{base_port}/openapi.json",
            )  # fmt: skip
            processes.append(baseline)
            print("baseline: trivial FastAPI endpoint ...", flush=True)
            base = single_events("baseline POST /v1/events", base_port)
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
            ingest = serve(
                "ingest",
                [sys.executable, "-m", "services.ingest"],
                ingest_env,
                f"http://127.0.0.1:{ingest_port}/readyz",
            )
            processes.append(ingest)
            print("ingest: POST /v1/events ...", flush=True)
            one = single_events("ingest POST /v1/events", ingest_port)
            print(f"ingest: POST /v1/events/batch ({BATCH_SIZE} events a request) ...", flush=True)
            many = http_load(
                "ingest POST /v1/events/batch", ingest_port, "/v1/events/batch", batch_file,
                batches, args.batch_connections, seconds, warmup, BATCH_SIZE, wrk is not None,
            )  # fmt: skip
            print(f"ingest: POST /v1/events at a steady {args.steady_rate:g}/s ...", flush=True)
            steady = steady_latency(ingest_port, single, args.steady_rate, seconds)
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
