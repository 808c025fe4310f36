"""``make bench``: every benchmark of the corridor in one run, then a summary.

1. ingest: single and batch posts against a trivial FastAPI endpoint and raw aiokafka;
2. tracker: apply throughput on PostgreSQL against raw batched inserts; the tariff's apply
   beside it (bench/tariff.py);
3. end to end (202 at ingest -> visible in the tracker's API) at 100, 500 and 2,000 events/s;
4. resident memory of each service while 1,000,000 events flow through the stack.

    python -m bench.run            # the figures of docs/performance.md (about 20 minutes)
    python -m bench.run --quick    # a short run of each part
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RATES = (100, 500, 2000)
# Lines of each part's output that carry its headline figures.
KEYS = ("vs ", "ratio", "p50", "events/s", "growth", "MiB", "requests/s")


def part(title: str, argv: list[str], summary: list[str]) -> int:
    print(f"\n=== {title}\n$ {' '.join(argv)}", flush=True)
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", *argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        lines.append(line.rstrip())
    code = proc.wait()
    summary.append(f"{title} ({time.monotonic() - started:.0f}s, exit {code})")
    summary += [f"    {line.strip()}" for line in lines if any(k in line for k in KEYS)][:12]
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    quick = ["--quick"] if args.quick else []
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"corridor benchmarks on {machine}", flush=True)
    summary: list[str] = []
    failures = 0
    with tempfile.TemporaryDirectory(prefix="corridor-bench-") as tmp:
        figures = Path(tmp) / "ingest.json"
        failures += part("ingest", ["bench.ingest", *quick, "--json", str(figures)], summary) != 0
        failures += (
            part("tracker apply", ["bench.tracker", "--only", "throughput", *quick], summary) != 0
        )
        # The tariff's apply beside the tracker's, against the same raw insert.
        failures += part("tariff apply", ["bench.tariff", *quick], summary) != 0
        for rate in RATES:
            seconds = "10" if args.quick else "30"
            failures += (
                part(
                    f"end to end at {rate}/s",
                    ["bench.tracker", "--only", "e2e", "--rate", str(rate), "--seconds", seconds],
                    summary,
                )
                != 0
            )
        events = "100000" if args.quick else "1000000"
        failures += part("memory", ["bench.memory", "--events", events], summary) != 0
        if figures.exists():
            summary.append("ingest figures: " + json.dumps(json.loads(figures.read_text()))[:2000])
    print("\n=== summary", flush=True)
    for line in summary:
        print(line, flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
