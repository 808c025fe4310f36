"""``python -m services.ingest.simulator`` (or ``corridor simulate``): post demo journeys
to ingest until SIGINT/SIGTERM, ``--duration`` or ``--max-shipments``; exits 0."""

from __future__ import annotations

import argparse
import asyncio
import signal

from corridor.logging import configure_logging
from services.ingest.simulator.run import SimulatorOptions, Stats, simulate


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="corridor simulate", description="Post demo corridor journeys to ingest."
    )
    parser.add_argument("--url", default="http://127.0.0.1:8001", help="ingest base URL")
    parser.add_argument("--rate", type=float, default=5.0, help="events per second (about)")
    parser.add_argument(
        "--time-compression", type=float, default=3600.0, help="simulated seconds per second"
    )
    parser.add_argument("--seed", type=int, default=None, help="for reproducible journeys")
    parser.add_argument("--duration", type=float, default=None, help="stop after S seconds")
    parser.add_argument("--duplicate-rate", type=float, default=0.03, help="posts sent twice")
    parser.add_argument("--late-rate", type=float, default=0.05, help="posts sent late")
    parser.add_argument("--max-shipments", type=int, default=None, help="journeys to post")
    parser.add_argument("--concurrency", type=int, default=32, help="posts in flight at most")
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.time_compression < 1:
        parser.error("--rate must be > 0 and --time-compression at least 1")
    configure_logging("simulator", args.log_level)
    options = SimulatorOptions(
        url=args.url.rstrip("/"),
        rate=args.rate,
        time_compression=args.time_compression,
        seed=args.seed,
        duration=args.duration,
        duplicate_rate=args.duplicate_rate,
        late_rate=args.late_rate,
        max_shipments=args.max_shipments,
        concurrency=args.concurrency,
    )

    async def run() -> Stats:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await simulate(options, stop)

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
