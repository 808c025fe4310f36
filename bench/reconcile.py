"""What ingest acknowledged, against what the tracker applied and what the topics hold."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

from corridor.kafka import CHARGES_TOPIC, EVENTS_TOPIC, header
from corridor.v1 import charges_pb2
from tests.support import read_records

# How long reading a topic back may take (a full fault run's events topic: seconds).
READ_WITHIN_SECONDS = 120.0


@dataclass
class Ledger:
    """The load generator's record of every 202 (or batch "accepted") it received."""

    acknowledged: set[tuple[str, str]] = field(default_factory=set)
    shipments: dict[str, set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))
    delivered: set[str] = field(default_factory=set)
    statuses: Counter[int | None] = field(default_factory=Counter)

    def record(self, carrier: str, body: dict[str, Any], status: int | None) -> None:
        self.statuses[status] += 1
        if status == 202:
            key = (carrier, str(body["event_id"]))
            self.acknowledged.add(key)
            self.shipments[str(body["shipment_id"])].add(key)
            if body["event_type"] == "DELIVERED" and body.get("classifier", "ACT") == "ACT":
                self.delivered.add(str(body["shipment_id"]))


@dataclass
class Reconciliation:
    acknowledged: int
    in_topic: int
    applied: int
    lost: int
    applied_twice: int
    missing_from_topic: int
    charges_expected: int = 0
    charges_found: int = 0
    charged_twice: int = 0

    def line(self, scenario: str, extra: str = "") -> str:
        text = (
            f"{scenario:<20} acknowledged={self.acknowledged} in_topic={self.in_topic} "
            f"applied={self.applied} lost={self.lost} applied twice={self.applied_twice}"
        )
        if self.charges_expected:
            text += (
                f" charges={self.charges_found}/{self.charges_expected}"
                f" charged twice={self.charged_twice}"
            )
        return text + (f" {extra}" if extra else "")

    @property
    def ok(self) -> bool:
        return (
            self.lost == 0
            and self.applied_twice == 0
            and self.missing_from_topic == 0
            and self.charged_twice == 0
            and self.charges_found == self.charges_expected
        )


# Reconciliation reads every shipment: as an operator (reads are authorized).
OPERATOR = {"Authorization": "Bearer demo-corridor-ops"}


async def tracker_timeline(client: httpx.AsyncClient, url: str, shipment_id: str) -> list[Any]:
    """Every event of the shipment's timeline, following ``next_cursor`` pages."""
    items: list[Any] = []
    cursor: str | None = None
    for _ in range(100):
        params = {"limit": 200} | ({"cursor": cursor} if cursor else {})
        response = await client.get(f"{url}/v1/shipments/{shipment_id}/events", params=params)
        if response.status_code == 404:
            return []
        response.raise_for_status()
        body = response.json()
        page = body if isinstance(body, list) else body.get("items", body.get("events", []))
        items += page
        cursor = None if isinstance(body, list) else body.get("next_cursor")
        if not cursor:
            break
    return items


async def applied_by_tracker(
    url: str, ledger: Ledger, within: float
) -> tuple[set[tuple[str, str]], int]:
    """Poll the tracker until it shows every acknowledged event (or ``within`` runs out).

    Returns the applied (carrier, event_id) set and the number of events applied twice:
    copies in a timeline plus unique-event counts above the timeline's size.
    """
    applied: set[tuple[str, str]] = set()
    twice = 0
    deadline = time.monotonic() + within
    pending = set(ledger.shipments)
    async with httpx.AsyncClient(timeout=30, headers=OPERATOR) as client:
        while True:
            for shipment_id in sorted(pending):
                timeline = await tracker_timeline(client, url, shipment_id)
                keys = [(str(e["carrier"]), str(e["event_id"])) for e in timeline]
                if ledger.shipments[shipment_id] <= set(keys):
                    pending.discard(shipment_id)
            if not pending or time.monotonic() > deadline:
                break
            await asyncio.sleep(1.0)
        for shipment_id in ledger.shipments:
            timeline = await tracker_timeline(client, url, shipment_id)
            keys = [(str(e["carrier"]), str(e["event_id"])) for e in timeline]
            applied |= set(keys)
            twice += len(keys) - len(set(keys))
            response = await client.get(f"{url}/v1/shipments/{shipment_id}")
            if response.status_code == 200:
                counted = int(response.json().get("counts", {}).get("events", len(set(keys))))
                twice += max(0, counted - len(set(keys)))
    return applied, twice


async def reconcile(
    bootstrap: str,
    tracker_url: str,
    ledger: Ledger,
    within: float = 60.0,
    tariff_url: str | None = None,
) -> Reconciliation:
    applied, twice = await applied_by_tracker(tracker_url, ledger, within)
    topic = await read_records(bootstrap, EVENTS_TOPIC, within=READ_WITHIN_SECONDS)
    in_topic = {header(r, "ce_id") for r in topic}
    acknowledged_ids = {f"{carrier}/{event_id}" for carrier, event_id in ledger.acknowledged}
    result = Reconciliation(
        acknowledged=len(ledger.acknowledged),
        in_topic=len(in_topic),
        applied=len(applied & ledger.acknowledged),
        lost=len(ledger.acknowledged - applied),
        applied_twice=twice,
        missing_from_topic=len(acknowledged_ids - in_topic),
    )
    if tariff_url is not None:
        await _reconcile_charges(bootstrap, tariff_url, ledger, result, within)
    return result


async def _reconcile_charges(
    bootstrap: str, tariff_url: str, ledger: Ledger, result: Reconciliation, within: float
) -> None:
    expected = ledger.delivered
    deadline = time.monotonic() + within
    charge_ids: dict[str, set[str]] = defaultdict(set)
    while True:
        charge_ids.clear()
        for record in await read_records(bootstrap, CHARGES_TOPIC, within=READ_WITHIN_SECONDS):
            charge = charges_pb2.Charge.FromString(record.value)
            charge_ids[charge.shipment_id].add(charge.charge_id)
        if expected <= set(charge_ids) or time.monotonic() > deadline:
            break
        await asyncio.sleep(1.0)
    result.charges_expected = len(expected)
    result.charges_found = len(expected & set(charge_ids))
    result.charged_twice = sum(1 for ids in charge_ids.values() if len(ids) > 1)
    async with httpx.AsyncClient(timeout=30, headers=OPERATOR) as client:
        for shipment_id in sorted(expected):
            response = await client.get(f"{tariff_url}/v1/shipments/{shipment_id}/charges")
            if response.status_code != 200:
                continue
            body = response.json()
            charges = body if isinstance(body, list) else body.get("charges", [])
            # Revisions of one charge share its charge_id: two ids are two charges.
            if len({c["charge_id"] for c in charges}) > 1:
                result.charged_twice += 1
