"""Fuzzing the running stack: schemathesis over every HTTP endpoint of the three services,
and random, truncated, oversized and wrong-schema records on ``cargo.events.v1``.

Passes when no request gets a 5xx, no service crashes, and every bad record reaches
``cargo.events.dlq.v1``.

    python -m bench.fuzz            # the full run (docs/reliability.md)
    python -m bench.fuzz --quick    # the short version CI runs
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.reconcile import READ_WITHIN_SECONDS
from bench.stack import Stack, StackOptions
from corridor.kafka import EVENTS_DLQ_TOPIC, EVENTS_TOPIC, OutgoingRecord, Publisher, header
from corridor.settings import KafkaSettings
from corridor.v1 import common_pb2, events_pb2, shipments_pb2
from tests.support import read_records


@dataclass
class Budget:
    max_examples: int
    bad_records: int


QUICK = Budget(max_examples=25, bad_records=40)
FULL = Budget(max_examples=300, bad_records=1000)

# Every operation of every service: ingest with a key that may report anywhere, the
# readers with an operator's key (who may read everything).
HEADERS = {
    "ingest": "Authorization: Bearer demo-mcm",
    "tracker": "Authorization: Bearer demo-corridor-ops",
    "tariff": "Authorization: Bearer demo-corridor-ops",
}


def schemathesis(service: str, url: str, budget: Budget, workdir: Path) -> int:
    schemathesis_bin = Path(sys.executable).with_name("schemathesis")
    argv = [
        str(schemathesis_bin),
        "run",
        f"{url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        str(budget.max_examples),
        "--workers",
        "1",
        "--phases",
        "examples,coverage,fuzzing",
        "--generation-deterministic",
        "--no-color",
        "--suppress-health-check",
        "all",
    ]
    if service in HEADERS:
        argv += ["-H", HEADERS[service]]
    log = workdir / f"schemathesis-{service}.log"
    # Run in the work directory: schemathesis keeps its cache (.schemathesis/) in the current
    # directory, and a deterministic run needs none across runs.
    with log.open("w") as out:
        code = subprocess.run(
            argv, cwd=workdir, stdout=out, stderr=subprocess.STDOUT, timeout=900
        ).returncode
    summary = [line for line in log.read_text().splitlines() if line.strip()][-6:]
    print(f"http {service:<8} schemathesis exit={code} ({log})", flush=True)
    for line in summary:
        print(f"    {line}", flush=True)
    return code


def bad_records(count: int, rng: random.Random) -> list[tuple[str, bytes]]:
    """Keys and values that no consumer can apply, of four kinds."""
    valid = events_pb2.CargoEvent(
        event_id="fuzz",
        carrier="ktz",
        event_type=common_pb2.EVENT_TYPE_DEPARTED,
        classifier=common_pb2.CLASSIFIER_ACT,
        shipment_id="FUZZ",
        container_no="CSQU3054383",
        location="KZAAU",
    )
    valid.occurred_at.GetCurrentTime()
    valid.recorded_at.GetCurrentTime()
    encoded = valid.SerializeToString()
    records = []
    for index in range(count):
        key = f"FUZZ-{index:05d}-{rng.randrange(16**6):06x}"
        kind = index % 4
        if kind == 0:  # random bytes
            value = rng.randbytes(rng.randint(1, 400))
        elif kind == 1:  # a valid event cut short
            value = encoded[: rng.randint(1, len(encoded) - 1)]
        elif kind == 2:  # oversized: a huge reason on an event that still lacks a node
            big = events_pb2.CargoEvent()
            big.CopyFrom(valid)
            big.location = "ZZZZZ"
            big.reason = "x" * rng.randint(200_000, 800_000)
            value = big.SerializeToString()
        else:  # the wrong schema: a ShipmentState where a CargoEvent belongs
            value = shipments_pb2.ShipmentState(
                shipment_id=key, status=shipments_pb2.SHIPMENT_STATUS_DELIVERED
            ).SerializeToString()
        records.append((key, value))
    return records


async def kafka_fuzz(stack: Stack, budget: Budget, seed: int) -> bool:
    settings = KafkaSettings(bootstrap_servers=stack.bootstrap_servers, publish_timeout_seconds=30)
    publisher = Publisher(settings, "fuzz")
    await publisher.start()
    rng = random.Random(seed)
    records = bad_records(budget.bad_records, rng)
    try:
        results = await publisher.publish_many(
            [OutgoingRecord(EVENTS_TOPIC, key, value, []) for key, value in records]
        )
    finally:
        await publisher.stop()
    if any(r is not None for r in results):
        print(f"kafka    could not publish the bad records: {results[:3]}", flush=True)
        return False
    keys = {key for key, _ in records}
    deadline = time.monotonic() + 120
    by_group: dict[str, set[str]] = {}
    while time.monotonic() < deadline:
        by_group = {}
        for record in await read_records(
            stack.bootstrap_servers, EVENTS_DLQ_TOPIC, within=READ_WITHIN_SECONDS
        ):
            key = bytes(record.key or b"").decode(errors="replace")
            if key in keys:
                group = header(record, "dlq_consumer_group") or "?"
                by_group.setdefault(group, set()).add(key)
        complete = all(len(found) == len(keys) for found in by_group.values())
        if len(by_group) >= 2 and complete:
            break
        await asyncio.sleep(1.0)
    alive = all(proc.alive() for proc in stack.processes.values())
    async with httpx.AsyncClient(timeout=10) as client:
        ready = [
            (await client.get(f"{stack.url(s)}/readyz")).status_code == 200
            for s in ("tracker", "tariff")
        ]
    counts = " ".join(f"{group}={len(found)}" for group, found in sorted(by_group.items()))
    tracker_all = len(by_group.get("corridor-tracker", set())) == len(keys)
    ok = tracker_all and alive and all(ready)
    print(
        f"kafka    bad_records={len(keys)} dead_lettered_by_group: {counts or 'none'} "
        f"consumers_alive={alive} ready={all(ready)} {'ok' if ok else 'FAILED'}",
        flush=True,
    )
    return ok


async def run(budget: Budget, workdir: Path) -> int:
    failures = 0
    options = StackOptions(database="sqlite", rate_limit_per_second=100_000.0)
    async with Stack(workdir / "stack", options) as stack:
        for service in ("ingest", "tracker", "tariff"):
            code = await asyncio.to_thread(
                schemathesis, service, stack.url(service), budget, workdir
            )
            failures += code != 0
        failures += not await kafka_fuzz(stack, budget, seed=7)
        crashed = [
            f"{name} (exit {proc.proc.returncode if proc.proc else '?'})"
            for name, proc in stack.processes.items()
            if not proc.alive()
        ]
        if crashed:
            print(f"crashed: {crashed}", flush=True)
            failures += 1
    print(f"fuzz: {'ok' if failures == 0 else f'{failures} FAILED'}", flush=True)
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workdir", type=Path, help="keep logs here")
    args = parser.parse_args(argv)
    budget = QUICK if args.quick else FULL
    os.environ.setdefault("SCHEMATHESIS_HOOKS", "")
    with tempfile.TemporaryDirectory(prefix="corridor-fuzz-") as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        return 1 if asyncio.run(run(budget, workdir)) else 0


if __name__ == "__main__":
    sys.exit(main())
