"""Tariff's use cases: quote, record what happened to shipments, charge them (and revise
the charge when a later fact changes it), show the charges to those who may read them.

The use cases talk to storage through a unit of work (``ports``: SQLAlchemy in ``db``,
in-memory fakes in the unit tests) and see only the tariff's own errors. A batch of events
is applied in one unit of work and a constant number of statements, however many events
and shipments it holds (``ports.TariffRepository``): the digests of its events in
one insert (conflicts read back in one query), its booking claims and movements in one
insert each, then the claims, movements and latest charge of the shipments it touched in
one query each, and their new charge revisions in one insert. Which booking and which
movements count is decided by the trust rules when charging (``bills``), so a booking that
comes after its movements still makes them count, and a movement or amendment that comes
after the charge revises it. Redelivered events change nothing; a reused event id with
other content is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date
from functools import partial
from typing import Any

from corridor.clock import Clock, utcnow
from corridor.parties import TrustRules, Verdict
from corridor.principals import Principal
from corridor.topology import Topology
from services.tariff import intake, rates, trust
from services.tariff.bills import Bill, MissingCard, bill, charge_document, charge_id
from services.tariff.events import ShipmentEvent
from services.tariff.intake import Facts, Rejection
from services.tariff.metrics import TariffMetrics
from services.tariff.ports import ConcurrentRevision, TariffRepository, UnitsOfWork
from services.tariff.rates import CardBook, Quote, QuoteRequest
from services.tariff.trust import Booking

__all__ = ["Applied", "Clock", "NotVisible", "Rejection", "Tariff", "charge_id"]

log = logging.getLogger(__name__)

# A batch that meets a revision stored meanwhile by another consumer is applied again.
ATTEMPTS = 5


class NotVisible(Exception):
    """The caller may not read this shipment (the API answers as for an unknown one)."""


@dataclass
class Outcome:
    """What a transaction did, reported once it is committed."""

    rejections: list[Rejection] = field(default_factory=list)
    set_aside: list[tuple[str, Verdict]] = field(default_factory=list)
    bills: list[Bill] = field(default_factory=list)


@dataclass(frozen=True)
class Applied:
    rejections: list[Rejection]
    issued: list[Bill]  # the charge revisions committed (to publish)


class Tariff:
    def __init__(
        self,
        units: UnitsOfWork,
        book: CardBook,
        topology: Topology,
        metrics: TariffMetrics,
        rules: TrustRules,
        clock: Clock = utcnow,
    ) -> None:
        self.units = units
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

    async def apply(self, events: Sequence[ShipmentEvent]) -> list[Rejection]:
        """Apply a batch in one transaction; charge (or revise) what it made chargeable.
        The events that can never be applied, by index."""
        return (await self.apply_batch(events)).rejections

    async def apply_batch(self, events: Sequence[ShipmentEvent]) -> Applied:
        """Apply a batch in one unit of work, applied again on a ``ConcurrentRevision`` (up
        to ``ATTEMPTS`` times). ``StorageRefused`` (the database refuses the batch) and
        ``StorageUnavailable`` propagate, with nothing stored."""
        outcome = await self._transaction(lambda repo: self._apply(repo, events))
        return Applied(sorted(outcome.rejections, key=lambda r: r.index), outcome.bills)

    async def _transaction(self, work: Callable[[TariffRepository], Awaitable[Outcome]]) -> Outcome:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with self.units() as uow:
                    outcome = await work(uow.repository)
                    await uow.commit()
            except ConcurrentRevision:
                if attempt == ATTEMPTS:
                    raise
                log.warning("charge revised concurrently; applying the batch again")
                continue
            self._report(outcome)
            return outcome
        raise AssertionError("unreachable")

    async def _apply(self, repo: TariffRepository, events: Sequence[ShipmentEvent]) -> Outcome:
        received_at = self.clock()
        batch = intake.copies(events)
        new = await repo.record_seen(intake.seen_rows(batch))
        known = [key for key in batch if key not in new]
        stored = await repo.seen_digests(known) if known else {}
        fresh, rejections = intake.sort_out(batch, new, stored)
        facts = intake.facts(fresh, self.book, self.topology, received_at)
        await repo.add_claims(facts.claims)
        await repo.add_movements(facts.movements)
        outcome = await self._settle(repo, facts.shipments, facts)
        # A claim by another carrier is refused as such; one that cannot be priced says so.
        refused = {r.index for r in outcome.rejections}
        for key, reason in facts.unpriceable.items():
            if facts.index[key] not in refused:
                outcome.rejections.append(Rejection(facts.index[key], reason))
        outcome.rejections += rejections + facts.rejections
        return outcome

    async def _settle(
        self, repo: TariffRepository, shipment_ids: Collection[str], facts: Facts | None = None
    ) -> Outcome:
        """Judge the new facts of these shipments and issue the charge revisions they
        make: three reads and one insert for all of them."""
        outcome = Outcome()
        if not shipment_ids:
            return outcome
        claims = await repo.claims_of(shipment_ids)
        # Only a shipment with a DELIVERED can be charged: the others' movements stay put.
        movements = await repo.movements_of(shipment_ids, delivered_only=True)
        latest = await repo.latest_charges(shipment_ids)
        computed_at = self.clock()
        for shipment_id in sorted(shipment_ids):
            booking = trust.effective_booking(self.rules, claims.get(shipment_id, []))
            stored = movements.get(shipment_id, [])
            if facts is not None:
                self._judge_new(facts, shipment_id, booking, outcome)
            previous = latest.get(shipment_id)
            try:
                document = charge_document(
                    self.book, self.topology, self.rules, shipment_id, booking, stored, computed_at
                )
            except MissingCard as exc:
                log.error(
                    "cannot charge: the booking's card is not loaded",
                    extra={"shipment_id": shipment_id, "card_version": str(exc)},
                )
                continue
            revised = bill(
                shipment_id, document, None if previous is None else previous.document, computed_at
            )
            if revised is not None:
                outcome.bills.append(revised)
        await repo.add_charges([b.row() for b in outcome.bills])
        return outcome

    async def _settle_only(self, shipment_ids: Collection[str], repo: TariffRepository) -> Outcome:
        return await self._settle(repo, shipment_ids)

    def _judge_new(
        self,
        facts: Facts,
        shipment_id: str,
        booking: Booking | None,
        outcome: Outcome,
    ) -> None:
        """Refuse the batch's claims by another carrier than the booker, and note the
        batch's movements that do not count (yet): they are judged again, against the
        booking then known, whenever the shipment is charged."""
        refused = () if booking is None else booking.refused
        for claim in refused:
            index = facts.index.get((claim.carrier, claim.event_id))
            if index is not None and booking is not None:
                reason = (
                    f"not_the_booker: {claim.carrier} may not amend the booking of "
                    f"{shipment_id} (booked by {booking.booker})"
                )
                outcome.rejections.append(Rejection(index, reason))
        for movement in facts.new_movements.get(shipment_id, ()):
            verdict = trust.verdict(self.rules, booking, movement)
            if not verdict.applies:
                outcome.set_aside.append((shipment_id, verdict))

    def _report(self, outcome: Outcome) -> None:
        """Metrics and logs of a committed transaction (not of one rolled back)."""
        for shipment_id, verdict in outcome.set_aside:
            self.metrics.set_aside.labels(verdict.outcome, verdict.reason).inc()
            log.info(
                "movement set aside",
                extra={
                    "shipment_id": shipment_id,
                    "outcome": verdict.outcome,
                    "reason": verdict.reason,
                    "detail": verdict.message,
                },
            )
        for issued in outcome.bills:
            self.metrics.issued(issued.document, issued.latest)
            log.info(
                "charged" if issued.latest is None else "charge revised",
                extra={
                    "shipment_id": issued.shipment_id,
                    "revision": issued.document["revision"],
                    "total": issued.document["total"],
                    "difference": issued.document["difference"],
                },
            )

    async def sweep(self, batch: int = 100) -> int:
        """Charge every shipment left chargeable but uncharged (at start-up: e.g. one whose
        card was missing then restored)."""
        total, after = 0, ""
        while True:
            async with self.units() as uow:
                waiting = await uow.repository.awaiting_charge(after, batch)
            outcome = await self._transaction(partial(self._settle_only, waiting))
            total += len(outcome.bills)
            if len(waiting) < batch:
                return total
            after = waiting[-1]

    async def shipment_charges(
        self, shipment_id: str, principal: Principal
    ) -> dict[str, Any] | None:
        """The booked quote (of the booking that counts) and every revision of the charge of
        a shipment, in order, with the revenue shares ``principal`` may see; None when
        neither exists. Raises ``NotVisible`` when the principal may not read the
        shipment."""
        async with self.units() as uow:
            repo = uow.repository
            claims = (await repo.claims_of([shipment_id])).get(shipment_id, [])
            charges = await repo.charges(shipment_id)
        booking = trust.effective_booking(self.rules, claims)
        if booking is None and not charges:
            return None
        if not trust.may_read(self.rules, principal, booking):
            raise NotVisible(shipment_id)
        quote = None if booking is None else booking.quote
        return {
            "shipment_id": shipment_id,
            "booked_quote": None if quote is None else trust.visible_shares(principal, quote),
            "charges": [trust.visible_shares(principal, c.document) for c in charges],
        }
