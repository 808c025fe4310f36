"""Tariff's use cases: quote, record what happened to a shipment, charge it once.

Each batch of events is applied in one transaction: bookings (with their quote), the
movements that give dwell times, and the charge of every shipment of the batch that is
now both booked and delivered. Everything is keyed so that a redelivered event or a
second DELIVERED changes nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from corridor.logging import correlation_id
from corridor.topology import Topology
from services.tariff import rates
from services.tariff.db import Repository
from services.tariff.documents import charge_doc, quote_doc, quote_from_doc
from services.tariff.events import ShipmentEvent
from services.tariff.metrics import TariffMetrics
from services.tariff.rates import CardBook, Charge, Movement, Quote, QuoteRequest

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# Charge ids derive from the shipment, so a charge is the same record however often it is
# computed or published (consumers of cargo.charges.v1 can deduplicate on ce_id).
CHARGE_NAMESPACE = uuid.UUID("5b0c8f1e-2f4a-4d3c-9a57-1f3c2b6d9e10")


def charge_id(shipment_id: str) -> str:
    return str(uuid.uuid5(CHARGE_NAMESPACE, shipment_id))


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Rejection:
    """An event that can never be applied (index in the batch, and why)."""

    index: int
    reason: str


class Tariff:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        book: CardBook,
        topology: Topology,
        metrics: TariffMetrics,
        clock: Clock = utc_now,
    ) -> None:
        self.sessions = sessions
        self.book = book
        self.topology = topology
        self.metrics = metrics
        self.clock = clock

    def today(self) -> date:
        return self.clock().astimezone(UTC).date()

    def quote(self, request: QuoteRequest) -> Quote:
        try:
            result = rates.quote(self.book, self.topology, request)
        except rates.PricingError as exc:
            self.metrics.quotes.labels(exc.code).inc()
            raise
        self.metrics.quotes.labels("quoted").inc()
        return result

    async def apply(self, events: Sequence[ShipmentEvent]) -> list[Rejection]:
        """Apply a batch in one transaction; charge what became chargeable."""
        rejections: list[Rejection] = []
        touched: set[str] = set()
        async with self.sessions.begin() as session:
            repo = Repository(session)
            for index, event in enumerate(events):
                token = correlation_id.set(f"{event.carrier}/{event.event_id}")
                try:
                    reason = await self._apply_one(repo, event)
                finally:
                    correlation_id.reset(token)
                if reason is not None:
                    rejections.append(Rejection(index, reason))
                else:
                    touched.add(event.shipment_id)
            charged = [c for sid in sorted(touched) if (c := await self._charge(repo, sid))]
        for charge in charged:
            self.metrics.charged(charge)
            log.info(
                "charged",
                extra={"shipment_id": charge.shipment_id, "total": str(charge.total)},
            )
        return rejections

    async def _apply_one(self, repo: Repository, event: ShipmentEvent) -> str | None:
        if not event.actual:
            return None  # estimates and plans are not what happened
        if event.event_type == "BOOKED":
            return await self._book(repo, event)
        if event.event_type in rates.MOVEMENTS:
            await repo.add_movement(
                {
                    "carrier": event.carrier,
                    "event_id": event.event_id,
                    "shipment_id": event.shipment_id,
                    "event_type": event.event_type,
                    "location": event.location,
                    "occurred_at": event.occurred_at,
                }
            )
        return None

    async def _book(self, repo: Repository, event: ShipmentEvent) -> str | None:
        """Record the quote of the booking date. The first booking of a shipment wins."""
        if await repo.booking(event.shipment_id) is not None:
            return None
        details = event.booking
        if details is None:
            return "BOOKED without booking details"
        request = QuoteRequest(
            origin=details.origin,
            destination=details.destination,
            container_type=details.container_type,
            gross_weight_kg=details.gross_weight_kg,
            shipping_date=event.occurred_at.astimezone(UTC).date(),
        )
        try:
            booked = rates.quote(self.book, self.topology, request)
        except rates.PricingError as exc:
            return f"booking cannot be priced: booking.{exc.field}: {exc.message}"
        await repo.add_booking(
            {
                "shipment_id": event.shipment_id,
                "carrier": event.carrier,
                "event_id": event.event_id,
                "booked_at": event.occurred_at,
                "card_version": booked.card_version,
                "currency": booked.currency,
                "total": str(booked.total),
                "quote": quote_doc(booked),
                "recorded_at": self.clock(),
            }
        )
        return None

    async def _charge(self, repo: Repository, shipment_id: str) -> Charge | None:
        """The charge of a shipment that is booked and delivered and not charged yet."""
        if await repo.charge(shipment_id) is not None:
            return None
        booking = await repo.booking(shipment_id)
        if booking is None:
            return None  # a DELIVERED before its BOOKED waits for it
        rows = await repo.movements(shipment_id)
        delivered = [r.occurred_at for r in rows if r.event_type == "DELIVERED"]
        if not delivered:
            return None
        card = self.book.version(booking.card_version)
        if card is None:
            log.error(
                "cannot charge: the booking's card is not loaded",
                extra={"shipment_id": shipment_id, "card_version": booking.card_version},
            )
            return None
        movements = [Movement(r.event_type, r.location, r.occurred_at) for r in rows]
        charge = rates.final_charge(
            quote_from_doc(booking.quote),
            card,
            self.topology,
            rates.dwells(movements),
            charge_id=charge_id(shipment_id),
            shipment_id=shipment_id,
            booked_at=booking.booked_at,
            delivered_at=min(delivered),
            computed_at=self.clock(),
        )
        inserted = await repo.add_charge(
            {
                "charge_id": charge.charge_id,
                "shipment_id": shipment_id,
                "card_version": charge.quote.card_version,
                "currency": charge.quote.currency,
                "total": str(charge.total),
                "document": charge_doc(charge),
                "computed_at": charge.computed_at,
                "published_at": None,
            }
        )
        return charge if inserted else None

    async def sweep(self, batch: int = 100) -> int:
        """Charge every shipment left booked and delivered but uncharged (at start-up:
        e.g. one whose card was missing then restored)."""
        total = 0
        while True:
            async with self.sessions.begin() as session:
                repo = Repository(session)
                waiting = await repo.awaiting_charge(batch)
                charged = [c for sid in waiting if (c := await self._charge(repo, sid))]
            for charge in charged:
                self.metrics.charged(charge)
            total += len(charged)
            if len(waiting) < batch or not charged:
                return total

    async def shipment_charges(self, shipment_id: str) -> dict[str, Any] | None:
        """The booked quote and the charge of a shipment; None when neither exists."""
        async with self.sessions() as session:
            repo = Repository(session)
            booking = await repo.booking(shipment_id)
            charge = await repo.charge(shipment_id)
        if booking is None and charge is None:
            return None
        return {
            "shipment_id": shipment_id,
            "booked_quote": booking.quote if booking is not None else None,
            "charges": [charge.document] if charge is not None else [],
        }
