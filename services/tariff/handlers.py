"""Tariff's use cases: quote, record what happened to a shipment, charge it once, show
its charges to those who may read them.

Each batch of events is applied in one transaction: booking claims (each with its quote),
the movements that give dwell times, and the charge of every shipment of the batch that
now has a counted DELIVERED. Which booking and which movements count is decided by the
trust rules (``trust``, i.e. ``corridor.parties``) when charging, so a booking that comes
after its movements still makes them count. Everything is keyed so that a redelivered
event or a second DELIVERED changes nothing; a reused event id with other content is
refused.
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
from corridor.parties import BookingClaim, TrustRules
from corridor.principals import Principal
from corridor.topology import Topology
from services.tariff import rates, trust
from services.tariff.db import BookingClaimRow, MovementRow, Repository
from services.tariff.documents import charge_doc, quote_doc, quote_from_doc
from services.tariff.events import ShipmentEvent
from services.tariff.metrics import TariffMetrics
from services.tariff.rates import CardBook, Charge, Movement, Quote, QuoteRequest
from services.tariff.trust import Booking, ClaimBody, StoredMovement

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


class NotVisible(Exception):
    """The caller may not read this shipment (the API answers as for an unknown one)."""


def claim_of(row: BookingClaimRow) -> trust.Claim:
    body = ClaimBody(row.details, row.quote)
    return BookingClaim(row.carrier, row.event_id, row.occurred_at, row.recorded_at, body)


def movement_of(row: MovementRow) -> StoredMovement:
    return StoredMovement(
        row.carrier, row.event_type, row.location, row.occurred_at, row.recorded_at
    )


class Tariff:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        book: CardBook,
        topology: Topology,
        metrics: TariffMetrics,
        rules: TrustRules,
        clock: Clock = utc_now,
    ) -> None:
        self.sessions = sessions
        self.book = book
        self.topology = topology
        self.metrics = metrics
        self.rules = rules
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

    async def _booking(self, repo: Repository, shipment_id: str) -> Booking | None:
        """The booking that counts now, of all the claims stored."""
        claims = [claim_of(r) for r in await repo.claims(shipment_id)]
        return trust.effective_booking(self.rules, claims)

    async def apply(self, events: Sequence[ShipmentEvent]) -> list[Rejection]:
        """Apply a batch in one transaction; charge what became chargeable."""
        rejections: list[Rejection] = []
        touched: set[str] = set()
        received_at = self.clock()
        async with self.sessions.begin() as session:
            repo = Repository(session)
            for index, event in enumerate(events):
                token = correlation_id.set(f"{event.carrier}/{event.event_id}")
                try:
                    reason = await self._apply_one(repo, event, received_at)
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

    async def _apply_one(
        self, repo: Repository, event: ShipmentEvent, received_at: datetime
    ) -> str | None:
        before = await repo.seen(event.carrier, event.event_id, event.digest)
        if before is not None and before != event.digest:
            return (
                f"conflicting duplicate: {event.carrier} reused event_id {event.event_id} "
                "with different content"
            )
        if before is not None or not event.actual:
            return None  # a retry (already applied), or an estimate or plan: not a fact
        recorded_at = event.recorded_at or received_at
        if event.event_type == "BOOKED":
            return await self._claim(repo, event, recorded_at)
        if event.event_type in rates.MOVEMENTS:
            await repo.add_movement(
                {
                    "carrier": event.carrier,
                    "event_id": event.event_id,
                    "shipment_id": event.shipment_id,
                    "event_type": event.event_type,
                    "location": event.location,
                    "occurred_at": event.occurred_at,
                    "recorded_at": recorded_at,
                }
            )
            await self._note_verdict(repo, event, recorded_at)
        return None

    async def _note_verdict(
        self, repo: Repository, event: ShipmentEvent, recorded_at: datetime
    ) -> None:
        """Count and log a movement that does not count (yet): it is judged again, against
        the booking then known, whenever the shipment is charged."""
        booking = await self._booking(repo, event.shipment_id)
        movement = StoredMovement(
            event.carrier, event.event_type, event.location, event.occurred_at, recorded_at
        )
        verdict = trust.verdict(self.rules, booking, movement)
        if not verdict.applies:
            self.metrics.set_aside.labels(verdict.outcome, verdict.reason).inc()
            log.info(
                "movement set aside",
                extra={
                    "shipment_id": event.shipment_id,
                    "outcome": verdict.outcome,
                    "reason": verdict.reason,
                    "detail": verdict.message,
                },
            )

    async def _claim(
        self, repo: Repository, event: ShipmentEvent, recorded_at: datetime
    ) -> str | None:
        """Store the booking claim with its quote (the card of its date). Which claim
        counts is decided when needed: a booking by another carrier than the booker (or an
        operator) never does, and is refused."""
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
        unpriceable = None
        try:
            booked: dict[str, Any] | None = quote_doc(
                rates.quote(self.book, self.topology, request)
            )
        except rates.PricingError as exc:
            booked = None
            unpriceable = f"booking cannot be priced: booking.{exc.field}: {exc.message}"
        await repo.add_claim(
            {
                "carrier": event.carrier,
                "event_id": event.event_id,
                "shipment_id": event.shipment_id,
                "occurred_at": event.occurred_at,
                "recorded_at": recorded_at,
                "details": trust.details_doc(details),
                "quote": booked,
            }
        )
        booking = await self._booking(repo, event.shipment_id)
        if booking is not None and any(
            (c.carrier, c.event_id) == (event.carrier, event.event_id) for c in booking.refused
        ):
            return (
                f"not_the_booker: {event.carrier} may not amend the booking of "
                f"{event.shipment_id} (booked by {booking.booker})"
            )
        return unpriceable

    async def _charge(self, repo: Repository, shipment_id: str) -> Charge | None:
        """The charge of a shipment whose booking counts and has a DELIVERED that counts,
        and is not charged yet. Only the movements that count make its storage."""
        if await repo.charge(shipment_id) is not None:
            return None
        booking = await self._booking(repo, shipment_id)
        if booking is None or booking.quote is None:
            return None  # movements wait for a booking (that can be priced)
        rows = [movement_of(r) for r in await repo.movements(shipment_id)]
        movements = trust.counted(self.rules, booking, rows)
        delivered = [m.occurred_at for m in movements if m.event_type == "DELIVERED"]
        if not delivered:
            return None
        quote = quote_from_doc(booking.quote)
        card = self.book.version(quote.card_version)
        if card is None:
            log.error(
                "cannot charge: the booking's card is not loaded",
                extra={"shipment_id": shipment_id, "card_version": quote.card_version},
            )
            return None
        charge = rates.final_charge(
            quote,
            card,
            self.topology,
            rates.dwells(Movement(m.event_type, m.location, m.occurred_at) for m in movements),
            charge_id=charge_id(shipment_id),
            shipment_id=shipment_id,
            booked_at=booking.effective.occurred_at,
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
        """Charge every shipment left chargeable but uncharged (at start-up: e.g. one whose
        card was missing then restored)."""
        total, after = 0, ""
        while True:
            async with self.sessions.begin() as session:
                repo = Repository(session)
                waiting = await repo.awaiting_charge(after, batch)
                charged = [c for sid in waiting if (c := await self._charge(repo, sid))]
            for charge in charged:
                self.metrics.charged(charge)
            total += len(charged)
            if len(waiting) < batch:
                return total
            after = waiting[-1]

    async def shipment_charges(
        self, shipment_id: str, principal: Principal
    ) -> dict[str, Any] | None:
        """The booked quote (of the booking that counts) and the charge of a shipment, with
        the revenue shares ``principal`` may see; None when neither exists. Raises
        ``NotVisible`` when the principal may not read the shipment."""
        async with self.sessions() as session:
            repo = Repository(session)
            booking: Booking | None = await self._booking(repo, shipment_id)
            charge = await repo.charge(shipment_id)
        if booking is None and charge is None:
            return None
        if not trust.may_read(self.rules, principal, booking):
            raise NotVisible(shipment_id)
        quote = None if booking is None else booking.quote
        return {
            "shipment_id": shipment_id,
            "booked_quote": None if quote is None else trust.visible_shares(principal, quote),
            "charges": [trust.visible_shares(principal, charge.document)] if charge else [],
        }
