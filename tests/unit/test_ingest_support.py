"""Fakes and builders shared by the ingest tests (this module holds no test)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from corridor.kafka import OutgoingRecord, PublishError, PublishTimeoutError
from services.ingest.app import create_app
from services.ingest.db import BookingRecord, LedgerEntry
from services.ingest.settings import IngestSettings
from services.ingest.trust import KnownBooking

# The fixed "now" of the unit tests: events are judged against it.
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
CONTAINER_NO = "MSCU6639870"  # valid ISO 6346 check digit
WAGON_NO_8 = "51800209"  # valid 1520 mm wagon number
WAGON_NO_12 = "315284310036"  # valid UIC wagon number

Result = PublishTimeoutError | PublishError | None


def bearer(carrier: str) -> dict[str, str]:
    return {"authorization": f"Bearer demo-{carrier}"}


def event_body(**changes: Any) -> dict[str, Any]:
    """A valid DEPARTED event that KTZ may post (Altynkol, a KZ node)."""
    body: dict[str, Any] = {
        "event_id": "ktz-000001",
        "event_type": "DEPARTED",
        "occurred_at": (NOW - timedelta(hours=1)).isoformat(),
        "shipment_id": "MCM-2026-00042",
        "container_no": CONTAINER_NO,
        "location": "KZAKL",
        "mode": "RAIL",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def booking_body(**changes: Any) -> dict[str, Any]:
    """A valid BOOKED event that the joint company (mcm) may post."""
    booking = {
        "origin": "CNHRS",
        "destination": "GEPTI",
        "container_type": "40HC",
        "gross_weight_kg": 24_000,
        "cargo_description": "machinery",
        "hs_code": "8479",
        "promised_delivery_at": (NOW + timedelta(days=14)).isoformat(),
    }
    booking.update(changes.pop("booking", {}))
    fields: dict[str, Any] = {
        "event_id": "mcm-000001",
        "event_type": "BOOKED",
        "location": "CNHRS",
        "mode": None,
        "booking": booking,
    }
    return event_body(**(fields | changes))


class FakePublisher:
    """Acknowledges every record unless told to fail the next ones (or all)."""

    def __init__(self) -> None:
        self.records: list[OutgoingRecord] = []
        self.failures: list[Result] = []  # results to give, in order, before acknowledging
        self.fail_all: Result = None
        self.started = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.started = False

    async def ping(self) -> bool:
        return self.started

    async def publish_many(self, records: Sequence[OutgoingRecord]) -> list[Result]:
        results: list[Result] = []
        for record in records:
            if self.fail_all is not None:
                results.append(self.fail_all)
            elif self.failures:
                results.append(self.failures.pop(0))
            else:
                self.records.append(record)
                results.append(None)
        return results


def scratch_database() -> str:
    """A fresh SQLite database for an ingest that runs its lifespan (migrations)."""
    return f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='ingest-')}/ingest.db"


class MemoryStore:
    """The database of ingest in memory, with the rules of ``SqlStore``; ``fail`` makes
    every call raise (a database that is down)."""

    def __init__(self) -> None:
        self.booked: dict[str, KnownBooking] = {}
        self.posted_by: dict[str, str] = {}
        self.ledger: dict[tuple[str, str], str] = {}
        self.fail = False
        self.calls = 0

    def _call(self) -> None:
        self.calls += 1
        if self.fail:
            raise ConnectionError("database down")

    async def ping(self) -> bool:
        self._call()
        return True

    async def bookings(self, shipment_ids: list[str]) -> list[KnownBooking | None]:
        self._call()
        return [self.booked.get(sid) for sid in shipment_ids]

    async def claim(self, entries: list[LedgerEntry]) -> list[bool]:
        self._call()
        for entry in entries:
            self.ledger.setdefault(entry.key, entry.digest)
        return [self.ledger[entry.key] == entry.digest for entry in entries]

    async def record_bookings(self, records: list[BookingRecord]) -> list[None]:
        self._call()
        for record in records:
            old = self.booked.get(record.shipment_id)
            facts = record.facts
            if old is None:
                self.booked[record.shipment_id] = KnownBooking(
                    facts, record.event_id, record.recorded_at
                )
            elif record.booked_at >= old.facts.booked_at and (
                record.carrier == old.facts.booker or record.by_operator
            ):
                amended = replace(facts, booker=old.facts.booker)
                self.booked[record.shipment_id] = KnownBooking(
                    amended, record.event_id, old.recorded_at
                )
        return [None] * len(records)


def make_app(
    publisher: FakePublisher | None = None,
    store: MemoryStore | None = None,
    clock: Callable[[], datetime] = lambda: NOW,
    **settings: Any,
) -> FastAPI:
    return create_app(
        IngestSettings(**settings),
        publisher=publisher or FakePublisher(),
        store=store or MemoryStore(),
        clock=clock,
    )


def make_client(
    publisher: FakePublisher | None = None, store: MemoryStore | None = None, **settings: Any
) -> TestClient:
    return TestClient(make_app(publisher, store, **settings))


def timeout_error() -> PublishTimeoutError:
    return PublishTimeoutError("broker did not acknowledge within 1s")
