"""The use case of ingest: judge events, publish the valid ones, say what became of each.

For each event, in order: its content and the carrier's rights (``domain.check``), then,
where ingest knows the shipment's booking, who may write the shipment's story
(``trust.judge_event``), then its ``event_id`` (refused as reused when the carrier used it for
other content), then the broker. An event is accepted only once the broker has acknowledged it.
When the broker does not acknowledge in time the event is *unavailable*: it may or may not
be stored, and the carrier retries it with the same ``event_id`` (consumers apply each
``carrier/event_id`` once), so nothing is silently lost.

The ledger entry of an event is written **before** it is published, and only once every
other rule has passed: a refused event is never recorded, so its corrected resubmission is
refused as reused; an event whose publication timed out stays recorded, rightly, since it may
well have reached the broker (its retry, with the same content, is accepted again). Writing
first also makes the check and the write one statement (``INSERT ... ON CONFLICT DO
NOTHING``), which closes the race between two replicas given the same ``event_id``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from corridor.auth import Denials
from corridor.clock import utcnow
from corridor.logging import correlation_id
from corridor.parties import TrustRules
from corridor.principals import Principal, Role
from services.ingest.batching import EventPublisher
from services.ingest.bookings import Shipments, StoreUnavailable
from services.ingest.db import BookingRecord, LedgerEntry
from services.ingest.domain import ReportedEvent, Rules, Violation, check
from services.ingest.metrics import ACCEPTED, REJECTED, IngestMetrics
from services.ingest.outcomes import (
    BROKER_UNAVAILABLE,
    DENIED,
    REUSED,
    ROLLED_BACK,
    STORE_UNAVAILABLE,
    UNAVAILABLE,
    Invalid,
    ItemOutcome,
    Verdict,
    verdict_of,
)
from services.ingest.records import Prepared, ce_id, prepare, prepared_records
from services.ingest.trust import KnownBooking, booked, judge_event

log = logging.getLogger(__name__)


def _roll_back(valid: list[tuple[int, ReportedEvent]], outcomes: list[ItemOutcome | None]) -> None:
    """Mark every valid item not yet judged otherwise as not published."""
    for index, event in valid:
        if outcomes[index] is None:
            outcomes[index] = ItemOutcome(event.event_id, Verdict.ROLLED_BACK, [ROLLED_BACK])


def refused(item: ReportedEvent | Invalid, violations: list[Violation]) -> ItemOutcome:
    return ItemOutcome(item.event_id, verdict_of(violations), violations)


class Ingest:
    def __init__(
        self,
        publisher: EventPublisher,
        rules: Rules,
        trust: TrustRules,
        shipments: Shipments,
        metrics: IngestMetrics,
        denials: Denials,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.publisher = publisher
        self.rules = rules
        self.trust = trust
        self.shipments = shipments
        self.metrics = metrics
        self.denials = denials
        self.clock = clock

    async def submit(self, carrier: Principal, event: ReportedEvent) -> ItemOutcome:
        correlation_id.set(ce_id(carrier.id, event.event_id))
        [outcome] = await self.submit_many(carrier, [event])
        return outcome

    async def submit_many(
        self,
        carrier: Principal,
        items: Sequence[ReportedEvent | Invalid],
        *,
        all_or_nothing: bool = False,
    ) -> list[ItemOutcome]:
        """Judge each item on its own; publish all valid ones together (one deadline).
        ``all_or_nothing`` (an EPCIS capture with ``rollback``): publish none of them when
        any is refused; the others are then ``ROLLED_BACK``."""
        now = self.clock()
        outcomes: list[ItemOutcome | None] = [None] * len(items)
        valid: list[tuple[int, ReportedEvent]] = []
        for index, item in enumerate(items):
            if isinstance(item, Invalid):
                outcomes[index] = ItemOutcome(
                    item.event_id, Verdict.INVALID, item.violations, item.error_count
                )
                continue
            violations = check(item, carrier, self.rules, now)
            if violations:
                outcomes[index] = self._refuse(carrier, item, violations)
            else:
                valid.append((index, item))
        if valid and all_or_nothing and any(o is not None for o in outcomes):
            _roll_back(valid, outcomes)
        elif valid:
            await self._judge_and_publish(carrier, valid, outcomes, now, all_or_nothing)
        final = [outcome for outcome in outcomes if outcome is not None]
        for item, outcome in zip(items, final, strict=True):
            if not (outcome.accepted or outcome.unavailable):
                event_type = item.event_type
                self.metrics.count(carrier.id, event_type, REJECTED)
        return final

    async def _judge_and_publish(
        self,
        carrier: Principal,
        valid: list[tuple[int, ReportedEvent]],
        outcomes: list[ItemOutcome | None],
        now: datetime,
        all_or_nothing: bool = False,
    ) -> None:
        try:
            known = await self.shipments.bookings([event.shipment_id for _, event in valid])
        except StoreUnavailable as exc:
            return self._unavailable(carrier, valid, outcomes, STORE_UNAVAILABLE, exc)
        fresh: dict[str, KnownBooking] = {}  # bookings of this request, in order
        judged: list[tuple[int, Prepared]] = []
        for index, event in valid:
            booking = fresh.get(event.shipment_id) or known[event.shipment_id]
            violations = judge_event(self.trust, booking, carrier.id, event, now)
            if violations:
                outcomes[index] = self._refuse(carrier, event, violations)
                continue
            if event.event_type == "BOOKED":
                fresh[event.shipment_id] = booked(event, carrier.id, booking, now)
            judged.append((index, prepare(event, carrier.id)))
        if not judged:
            return None
        if all_or_nothing and len(judged) < len(valid):
            return _roll_back(valid, outcomes)
        entries = [LedgerEntry(carrier.id, p.event.event_id, p.digest, now) for _, p in judged]
        try:
            claimed = await self.shipments.claim(entries)
        except StoreUnavailable as exc:
            return self._unavailable(carrier, valid, outcomes, STORE_UNAVAILABLE, exc)
        publishable: list[tuple[int, Prepared]] = []
        for (index, prepared), ok in zip(judged, claimed, strict=True):
            if ok:
                publishable.append((index, prepared))
            else:
                outcomes[index] = self._refuse(carrier, prepared.event, [REUSED], Verdict.REUSED)
        if all_or_nothing and len(publishable) < len(judged):
            return _roll_back(valid, outcomes)
        if publishable:
            await self._publish(carrier, publishable, outcomes, now)
        return None

    async def _publish(
        self,
        carrier: Principal,
        publishable: list[tuple[int, Prepared]],
        outcomes: list[ItemOutcome | None],
        now: datetime,
    ) -> None:
        prepared = [p for _, p in publishable]
        results = await self.publisher.publish_many(prepared_records(prepared, carrier.id, now))
        failed = 0
        bookings: list[BookingRecord] = []
        for (index, item), result in zip(publishable, results, strict=True):
            event = item.event
            if result is None:
                self.metrics.count(carrier.id, event.event_type, ACCEPTED)
                outcomes[index] = ItemOutcome(event.event_id, Verdict.ACCEPTED)
                if event.booking is not None:
                    bookings.append(self._booking_record(carrier, event, now))
            else:
                failed += 1
                self.metrics.count(carrier.id, event.event_type, UNAVAILABLE)
                outcomes[index] = ItemOutcome(
                    event.event_id, Verdict.UNAVAILABLE, [BROKER_UNAVAILABLE]
                )
        if failed:
            log.warning(
                "events not acknowledged by the broker",
                extra={"failed": failed, "valid": len(publishable), "carrier": carrier.id},
            )
        if bookings:
            try:
                await self.shipments.record(bookings)
            except StoreUnavailable:
                # The broker has them: the consumers apply them; ingest only judges the
                # shipments' next events without them until they are recorded.
                log.exception("accepted bookings not recorded", extra={"carrier": carrier.id})

    def _booking_record(
        self, carrier: Principal, event: ReportedEvent, now: datetime
    ) -> BookingRecord:
        return BookingRecord(
            shipment_id=event.shipment_id,
            carrier=carrier.id,
            by_operator=carrier.role is Role.OPERATOR,
            event_id=event.event_id,
            booked_at=event.occurred_at,
            recorded_at=now,
            facts=booked(event, carrier.id, None, now).facts,
        )

    def _refuse(
        self,
        carrier: Principal,
        event: ReportedEvent,
        violations: list[Violation],
        verdict: Verdict | None = None,
    ) -> ItemOutcome:
        codes = [v.code for v in violations if v.code in DENIED]
        for code in dict.fromkeys(codes):
            self.denials.deny(
                carrier.role.value,
                code,
                carrier=carrier.id,
                shipment_id=event.shipment_id,
                event_id=event.event_id,
            )
        return ItemOutcome(event.event_id, verdict or verdict_of(violations), violations)

    def _unavailable(
        self,
        carrier: Principal,
        valid: list[tuple[int, ReportedEvent]],
        outcomes: list[ItemOutcome | None],
        violation: Violation,
        exc: Exception,
    ) -> None:
        log.warning("database unavailable", extra={"error": str(exc), "carrier": carrier.id})
        for index, event in valid:
            if outcomes[index] is None:
                self.metrics.count(carrier.id, event.event_type, UNAVAILABLE)
                outcomes[index] = ItemOutcome(event.event_id, Verdict.UNAVAILABLE, [violation])
