"""``corridor``: run the whole system locally, or the carrier simulator.

``corridor run`` starts the embedded Tansu broker (unless ``KAFKA_BOOTSTRAP_SERVERS`` points
at a real Kafka), the services (ingest, tracker, tariff, webhooks) on SQLite databases
under ``--data-dir`` (unless their database URLs are set), and the carrier simulator; Ctrl-C
or SIGTERM stops everything.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from corridor.devstack import (
    EmbeddedBroker,
    ManagedProcess,
    python_module,
    wait_for_http,
)
from corridor.settings import KafkaSettings

SERVICES = (("ingest", 8001), ("tracker", 8002), ("tariff", 8003), ("webhooks", 8004))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="corridor", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the whole system locally (embedded broker, SQLite)")
    run.add_argument("--data-dir", default=".corridor-data", type=Path)
    run.add_argument("--kafka-port", default=9092, type=int)
    run.add_argument("--ingest-port", default=8001, type=int)
    run.add_argument("--tracker-port", default=8002, type=int)
    run.add_argument("--tariff-port", default=8003, type=int)
    run.add_argument("--webhooks-port", default=8004, type=int)
    run.add_argument("--no-simulate", action="store_true", help="do not start demo traffic")
    run.add_argument("--rate", default=5.0, type=float, help="simulated events per second")
    run.add_argument(
        "--time-compression",
        default=3600.0,
        type=float,
        help="simulated seconds per real second",
    )
    sim = sub.add_parser("simulate", help="post demo corridor journeys as the demo carriers")
    sim.add_argument("args", nargs=argparse.REMAINDER, help="options of the simulator")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["simulate"]:  # every option goes to the simulator (argparse would take some)
        os.execv(sys.executable, python_module("services.ingest.simulator", *argv[1:]))
    args = _parser().parse_args(argv)
    return run(args)


def run(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    logs = data_dir / "logs"
    logs.mkdir(exist_ok=True)
    env = dict(os.environ)
    ports = {
        "ingest": args.ingest_port,
        "tracker": args.tracker_port,
        "tariff": args.tariff_port,
        "webhooks": args.webhooks_port,
    }
    processes: list[ManagedProcess] = []

    stopping = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    def say(message: str) -> None:
        print(message, flush=True)

    try:
        if "KAFKA_BOOTSTRAP_SERVERS" not in env:
            broker = EmbeddedBroker(args.kafka_port, log=(logs / "broker.log").open("ab"))
            broker.start_and_wait()
            processes.append(broker)
            env["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap_servers
            say(f"broker   kafka://{broker.bootstrap_servers} (embedded Tansu, memory storage)")
        else:
            say(f"broker   kafka://{env['KAFKA_BOOTSTRAP_SERVERS']} (external)")
        asyncio.run(_ensure_topics(env["KAFKA_BOOTSTRAP_SERVERS"]))
        for name, _default in SERVICES:
            prefix = name.upper()
            env[f"{prefix}_PORT"] = str(ports[name])
            env.setdefault(f"{prefix}_HOST", "127.0.0.1")
            # The local run is the one place that sets the local environment (demo keys).
            env.setdefault(f"{prefix}_ENVIRONMENT", "local")
            env.setdefault(
                f"{prefix}_DATABASE_URL", f"sqlite+aiosqlite:///{data_dir / (name + '.db')}"
            )
        # The single window (the tracker's page) shows charges read from this run's tariff.
        env.setdefault("TRACKER_TARIFF_URL", f"http://127.0.0.1:{ports['tariff']}")
        for name, _default in SERVICES:
            proc = ManagedProcess(
                name,
                python_module(f"services.{name}"),
                env=env,
                log=(logs / f"{name}.log").open("ab"),
            )
            proc.start()
            processes.append(proc)
        for name, _default in SERVICES:
            wait_for_http(f"http://127.0.0.1:{ports[name]}/readyz", timeout=60)
            say(f"{name:<8} http://127.0.0.1:{ports[name]}  (docs /docs, metrics /metrics)")
        say(
            f"window   http://127.0.0.1:{ports['tracker']}/  (the single window; sign in "
            "with a demo key, e.g. demo-corridor-ops)"
        )
        if not args.no_simulate:
            sim = ManagedProcess(
                "simulator",
                python_module(
                    "services.ingest.simulator",
                    "--url",
                    f"http://127.0.0.1:{ports['ingest']}",
                    "--rate",
                    str(args.rate),
                    "--time-compression",
                    str(args.time_compression),
                ),
                env=env,
                log=(logs / "simulator.log").open("ab"),
            )
            sim.start()
            processes.append(sim)
            say(f"simulator posting ~{args.rate:g} events/s as the demo carriers")
        say(f"logs     {logs}")
        say("ready; Ctrl-C stops everything")
        while not stopping:
            for proc in processes:
                if not proc.alive():
                    say(f"{proc.name} exited unexpectedly; see {logs / (proc.name + '.log')}")
                    stopping = True
            time.sleep(0.2)
    except (TimeoutError, OSError) as exc:
        say(f"start-up failed: {exc}; see {logs}")
        return_code = 1
    else:
        return_code = 0
    finally:
        for proc in reversed(processes):
            proc.stop()
        say("stopped")
    return return_code


async def _ensure_topics(bootstrap: str) -> None:
    from corridor.kafka import ensure_topics

    settings = KafkaSettings(bootstrap_servers=bootstrap)
    deadline = time.monotonic() + 30
    while True:
        try:
            await ensure_topics(settings, client_id="corridor-run")
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
