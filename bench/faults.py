"""The fault suite: the stack under load while processes die, the database restarts, the
broker stalls, the database slows down and carriers burst beyond capacity.

Each scenario ends with an exact reconciliation (bench/reconcile.py) and prints one line:
``acknowledged``, ``applied``, ``lost`` (must be 0) and ``applied twice`` (must be 0).

    python -m bench.faults            # the full suite (docs/reliability.md)
    python -m bench.faults --quick    # the short version CI runs
    python -m bench.faults --only broker_stall
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.latency_proxy import LatencyProxy
from bench.reconcile import Ledger, Reconciliation, reconcile
from bench.stack import Stack, StackOptions
from corridor.journeys import Post
from services.ingest.simulator import Stats, paced, post_event, sample_posts


@dataclass
class Load:
    events: int
    rate: float


QUICK = Load(events=800, rate=200.0)
FULL = Load(events=12_000, rate=400.0)


def interleaved_posts(count: int, seed: int) -> list[Post]:
    """Whole journeys, their events interleaved in time order as on the real corridor."""
    posts = sample_posts(count, seed=seed)
    return sorted(posts, key=lambda p: p.occurred_at)


async def drive(
    url: str, posts: list[Post], rate: float, ledger: Ledger, concurrency: int = 64
) -> Stats:
    """Post at ``rate`` with retries on 429/503 (same event_id), recording each 202."""
    stats = Stats()
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=httpx.Timeout(15.0), limits=limits) as client:

        async def one(post: Post) -> None:
            status = await post_event(client, url, post.carrier, post.body, stats)
            ledger.record(post.carrier, post.body, status)

        await paced(posts, rate, one, concurrency)
    return stats


async def at(seconds: float, action: Callable[[], Awaitable[None]]) -> None:
    await asyncio.sleep(seconds)
    await action()


Scenario = Callable[[Path, Load], Awaitable[tuple[Reconciliation, str]]]


async def _run_load_with_faults(
    stack: Stack, load: Load, faults: list[Awaitable[None]], seed: int
) -> tuple[Ledger, Stats]:
    ledger = Ledger()
    posts = interleaved_posts(load.events, seed)
    stats, *_ = await asyncio.gather(drive(stack.url("ingest"), posts, load.rate, ledger), *faults)
    assert isinstance(stats, Stats)
    return ledger, stats


async def consumer_killed(workdir: Path, load: Load, service: str) -> tuple[Reconciliation, str]:
    async with Stack(workdir / service) as stack:
        duration = load.events / load.rate
        kills = [duration * f for f in (0.2, 0.45, 0.7)]

        async def kill() -> None:
            await stack.restart(service, signal.SIGKILL)

        ledger, _ = await _run_load_with_faults(stack, load, [at(t, kill) for t in kills], 11)
        result = await reconcile(
            stack.bootstrap_servers, stack.url("tracker"), ledger, tariff_url=stack.url("tariff")
        )
        return result, f"kills={len(kills)}"


async def tracker_killed(workdir: Path, load: Load) -> tuple[Reconciliation, str]:
    return await consumer_killed(workdir, load, "tracker")


async def tariff_killed(workdir: Path, load: Load) -> tuple[Reconciliation, str]:
    return await consumer_killed(workdir, load, "tariff")


def _postgres(action: str) -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
        check=True,
        capture_output=True,
        timeout=120,
    )


async def postgres_restart(workdir: Path, load: Load) -> tuple[Reconciliation, str]:
    async with Stack(workdir / "pg") as stack:

        async def restart() -> None:
            await asyncio.to_thread(_postgres, "restart")

        ledger, _ = await _run_load_with_faults(
            stack, load, [at(load.events / load.rate * 0.4, restart)], 12
        )
        result = await reconcile(
            stack.bootstrap_servers, stack.url("tracker"), ledger, tariff_url=stack.url("tariff")
        )
        return result, "postgres restarted once mid-load"


async def broker_stall(workdir: Path, load: Load) -> tuple[Reconciliation, str]:
    options = StackOptions(publish_timeout_seconds=1.0)
    async with Stack(workdir / "stall", options) as stack:
        stalled = 6.0

        async def stall() -> None:
            stack.broker.pause()
            await asyncio.sleep(stalled)
            stack.broker.resume()

        ledger, stats = await _run_load_with_faults(
            stack, load, [at(load.events / load.rate * 0.3, stall)], 13
        )
        result = await reconcile(
            stack.bootstrap_servers, stack.url("tracker"), ledger, tariff_url=stack.url("tariff")
        )
        return result, f"stalled={stalled:g}s answered_503={stats.by_status.get(503, 0)}"


async def slow_database(workdir: Path, load: Load) -> tuple[Reconciliation, str]:
    proxy = LatencyProxy("127.0.0.1", 5432, delay=0.0)
    await proxy.start()
    try:
        stack = Stack(workdir / "slow", StackOptions(database_port=proxy.port))
        async with stack:

            async def slow_down() -> None:
                proxy.delay = 0.01

            ledger, _ = await _run_load_with_faults(
                stack, load, [at(load.events / load.rate * 0.2, slow_down)], 14
            )
            result = await reconcile(
                stack.bootstrap_servers,
                stack.url("tracker"),
                ledger,
                within=600,
                tariff_url=stack.url("tariff"),
            )
            return result, f"database latency +{proxy.delay * 1000:.0f} ms per round trip"
    finally:
        await proxy.stop()


async def burst(workdir: Path, load: Load) -> tuple[Reconciliation, str]:
    # 40 events/s per carrier: the demo traffic's busiest carrier posts far more in a burst.
    options = StackOptions(rate_limit_per_second=40.0)
    async with Stack(workdir / "burst", options) as stack:
        before = stack.rss_bytes("ingest")
        ledger = Ledger()
        posts = interleaved_posts(load.events, 15)
        stats = await drive(
            stack.url("ingest"), posts, rate=5_000.0, ledger=ledger, concurrency=200
        )
        after = stack.rss_bytes("ingest")
        result = await reconcile(
            stack.bootstrap_servers, stack.url("tracker"), ledger, tariff_url=stack.url("tariff")
        )
        extra = (
            f"answered_429={stats.by_status.get(429, 0)} gave_up={stats.gave_up} "
            f"ingest_rss_mib={before / 2**20:.0f}->{after / 2**20:.0f}"
        )
        return result, extra


SCENARIOS: dict[str, Scenario] = {
    "tracker_sigkill": tracker_killed,
    "tariff_sigkill": tariff_killed,
    "postgres_restart": postgres_restart,
    "broker_stall": broker_stall,
    "slow_database": slow_database,
    "burst": burst,
}


async def run(names: list[str], load: Load, workdir: Path | None = None) -> int:
    failures = 0
    with tempfile.TemporaryDirectory(prefix="corridor-faults-") as scratch:
        tmp = workdir or Path(scratch)
        for name in names:
            started = time.monotonic()
            try:
                result, extra = await SCENARIOS[name](Path(tmp), load)
            except Exception as exc:  # report and go on to the next scenario
                print(f"{name:<20} ERROR {exc!r}", flush=True)
                failures += 1
                continue
            verdict = "ok" if result.ok else "FAILED"
            took = time.monotonic() - started
            print(result.line(name, f"{extra} ({took:.0f}s) {verdict}"), flush=True)
            failures += 0 if result.ok else 1
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the short version CI runs")
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS))
    parser.add_argument("--workdir", type=Path, help="keep the services' logs here")
    args = parser.parse_args(argv)
    load = QUICK if args.quick else FULL
    names = args.only or list(SCENARIOS)
    print(f"fault suite: {load.events} events at {load.rate:g}/s per scenario", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        return 1 if asyncio.run(run(names, load, args.workdir)) else 0
    return 130


if __name__ == "__main__":
    sys.exit(main())
