"""A partner system reading ``cargo.shipments.v1``: the latest state of every shipment.

What a partner needs is only aiokafka and the Python code generated from the contracts
(``proto/corridor/v1``), never the corridor's own library: generate it with

    python -m grpc_tools.protoc -Iproto --python_out=OUT proto/corridor/v1/*.proto

and put ``OUT`` on ``PYTHONPATH`` (this repository has it in ``libs/``). docs/partners.md
explains the topic, its key, headers, ordering and delivery; docs/asyncapi.yaml describes
every topic.

Each record is checked (its CloudEvents type), decoded, and applied when its ``version`` is
newer than the one held for its shipment: redeliveries and replays change nothing. Offsets
are committed only after a batch is handled (at least once). One JSON line is printed per
state applied. The states are kept in memory here; a real partner keeps them in its own
database, in the same transaction as the version check.

Local run (``corridor run``'s broker, no authentication)::

    PYTHONPATH=libs python examples/partner_consumer.py --group partner-example-states

Production (the KafkaUser ``partner-example``; docs/partners.md, "Connecting")::

    KAFKA_PASSWORD=... python examples/partner_consumer.py \\
        --bootstrap-servers corridor-kafka-bootstrap.corridor.svc:9093 \\
        --security-protocol SASL_SSL --username partner-example --cafile ca.crt \\
        --group partner-example-states
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.helpers import create_ssl_context
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import DecodeError

from corridor.v1.shipments_pb2 import ShipmentState

TOPIC = "cargo.shipments.v1"
CE_TYPE = "corridor.v1.ShipmentState"


@dataclass
class LatestStates:
    """The latest state of each shipment: a state replaces the held one only when newer."""

    by_shipment: dict[str, ShipmentState] = field(default_factory=dict)

    def apply(self, state: ShipmentState) -> bool:
        held = self.by_shipment.get(state.shipment_id)
        if held is not None and held.version >= state.version:
            return False  # a redelivery, or an older state read after a newer one
        self.by_shipment[state.shipment_id] = state
        return True


def header(record: Any, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return bytes(value).decode(errors="replace")
    return None


def decode(record: Any) -> ShipmentState | str:
    """The record's state, or why it is not one this consumer can use."""
    ce_type = header(record, "ce_type")
    if ce_type != CE_TYPE:
        return f"ce_type {ce_type!r} is not {CE_TYPE!r}"  # a newer kind of record: skip it
    try:
        state = ShipmentState.FromString(record.value or b"")
    except DecodeError as exc:
        return f"undecodable ShipmentState: {exc}"
    key = bytes(record.key or b"").decode(errors="replace")
    if state.shipment_id != key:
        return f"key {key!r} is not the state's shipment_id {state.shipment_id!r}"
    return state


def printable(record: Any, state: ShipmentState) -> dict[str, Any]:
    return {
        "partition": record.partition,
        "offset": record.offset,
        "ce_id": header(record, "ce_id"),
        "state": MessageToDict(state, preserving_proto_field_name=True),
    }


def options(args: argparse.Namespace) -> dict[str, Any]:
    """aiokafka's connection options: plain in a local run, SASL_SSL SCRAM-SHA-512 in
    production (the password from ``KAFKA_PASSWORD``, never from the command line)."""
    found: dict[str, Any] = {
        "bootstrap_servers": args.bootstrap_servers,
        "security_protocol": args.security_protocol,
    }
    if args.security_protocol in ("SSL", "SASL_SSL"):
        found["ssl_context"] = create_ssl_context(cafile=args.cafile)
    if args.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        found["sasl_mechanism"] = "SCRAM-SHA-512"
        found["sasl_plain_username"] = args.username
        found["sasl_plain_password"] = os.environ.get("KAFKA_PASSWORD", "")
    return found


async def consume(args: argparse.Namespace) -> int:
    consumer = AIOKafkaConsumer(
        args.topic,
        group_id=args.group,
        client_id=args.group,
        auto_offset_reset="earliest",  # a new group reads every shipment's latest state
        enable_auto_commit=False,
        **options(args),
    )
    states = LatestStates()
    applied = 0
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    deadline = time.monotonic() + args.max_seconds if args.max_seconds else None
    await consumer.start()
    try:
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            for records in batches.values():
                for record in records:  # in order within a partition, so per shipment
                    outcome = decode(record)
                    if isinstance(outcome, str):
                        where = f"{record.topic}/{record.partition}@{record.offset}"
                        print(f"skipped {where}: {outcome}", file=sys.stderr)
                    elif states.apply(outcome):
                        print(json.dumps(printable(record, outcome)), flush=True)
                        applied += 1
            if batches:
                await consumer.commit()  # only after the batch is handled: at least once
            if args.max_records and applied >= args.max_records:
                break
    finally:
        await consumer.stop()
    return 0


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Read the shipment states of the corridor.")
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    parser.add_argument("--topic", default=TOPIC)
    parser.add_argument(
        "--group", required=True, help="consumer group: it must start with your user's name"
    )
    parser.add_argument(
        "--security-protocol",
        default="PLAINTEXT",
        choices=["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"],
    )
    parser.add_argument("--username", help="the KafkaUser, e.g. partner-example")
    parser.add_argument("--cafile", help="the cluster CA (ca.crt of corridor-cluster-ca-cert)")
    parser.add_argument("--max-seconds", type=float, default=0, help="stop after (0: never)")
    parser.add_argument(
        "--max-records", type=int, default=0, help="stop once n states were applied (0: never)"
    )
    args = parser.parse_args(argv)
    if args.security_protocol.startswith("SASL") and not args.username:
        parser.error("--username is required with SASL")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(consume(parse(argv)))


if __name__ == "__main__":
    sys.exit(main())
