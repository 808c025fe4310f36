"""The use case of ingest: judge events, publish the valid ones, say what became of each.

An event is accepted only once the broker has acknowledged it. When the broker does not
acknowledge in time the event is *unavailable*: it may or may not be stored, and the
carrier retries it with the same ``event_id`` (consumers apply each ``carrier/event_id``
once), so nothing is silently lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter

from corridor.kafka import OutgoingRecord, PublishError, PublishTimeoutError, utcnow
from corridor.logging import correlation_id
from services.ingest.carriers import Carrier
from services.ingest.domain import ReportedEvent, Rules, Violation, check, status_of
from services.ingest.records import ce_id, event_records
from services.ingest.schemas import EVENT_TYPES

log = logging.getLogger(__name__)

ACCEPTED = "accepted"
REJECTED = "rejected"
UNAVAILABLE = "unavailable"
RATE_LIMITED = "rate_limited"


class EventPublisher(Protocol):
    async def publish_many(
        self, records: Sequence[OutgoingRecord]
    ) -> list[PublishTimeoutError | PublishError | None]: ...


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.events = Counter(
            "corridor_ingest_events_total",
            "Events posted, by carrier, event type and outcome (accepted, rejected, "
            "unavailable, rate_limited; rate_limited counts requests, whose body is not read).",
            ["carrier", "event_type", "outcome"],
            registry=registry,
        )
        self._children: dict[tuple[str, str, str], Counter] = {}

    def count(self, carrier: str, event_type: str, outcome: str, amount: int = 1) -> None:
        key = (carrier, event_type if event_type in EVENT_TYPES else "unknown", outcome)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.events.labels(*key)
        child.inc(amount)


class EventRejected(Exception):
    def __init__(self, violations: list[Violation]) -> None:
        super().__init__("; ".join(f"{v.field}: {v.message}" for v in violations))
        self.violations = violations
        self.status = status_of(violations)


class BrokerUnavailable(Exception):
    """The broker did not acknowledge in time (or refused): retry the same event."""


@dataclass(frozen=True, slots=True)
class Invalid:
    """An item of a batch that is not even well-formed (schema violations)."""

    event_id: str | None
    event_type: str
    violations: list[Violation]


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    event_id: str | None
    accepted: bool
    violations: list[Violation] = field(default_factory=list)
    unavailable: bool = False


UNAVAILABLE_VIOLATION = Violation(
    "", "the broker did not acknowledge in time; retry with the same event_id", UNAVAILABLE
)


class Ingest:
    def __init__(
        self,
        publisher: EventPublisher,
        rules: Rules,
        metrics: IngestMetrics,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.publisher = publisher
        self.rules = rules
        self.metrics = metrics
        self.clock = clock

    async def submit(self, carrier: Carrier, event: ReportedEvent) -> None:
        """Publish one event; raises ``EventRejected`` or ``BrokerUnavailable``."""
        correlation_id.set(ce_id(carrier.id, event.event_id))
        now = self.clock()
        violations = check(event, carrier, self.rules, now)
        if violations:
            self.metrics.count(carrier.id, event.event_type, REJECTED)
            raise EventRejected(violations)
        [result] = await self.publisher.publish_many(event_records([event], carrier.id, now))
        if result is not None:
            self.metrics.count(carrier.id, event.event_type, UNAVAILABLE)
            log.warning("event not acknowledged by the broker", extra={"error": str(result)})
            raise BrokerUnavailable(str(result))
        self.metrics.count(carrier.id, event.event_type, ACCEPTED)

    async def submit_many(
        self, carrier: Carrier, items: Sequence[ReportedEvent | Invalid]
    ) -> list[ItemOutcome]:
        """Judge each item on its own; publish all valid ones together (one deadline)."""
        now = self.clock()
        outcomes: list[ItemOutcome | None] = []
        valid: list[tuple[int, ReportedEvent]] = []
        for item in items:
            if isinstance(item, Invalid):
                self.metrics.count(carrier.id, item.event_type, REJECTED)
                outcomes.append(ItemOutcome(item.event_id, False, item.violations))
                continue
            violations = check(item, carrier, self.rules, now)
            if violations:
                self.metrics.count(carrier.id, item.event_type, REJECTED)
                outcomes.append(ItemOutcome(item.event_id, False, violations))
            else:
                valid.append((len(outcomes), item))
                outcomes.append(None)
        if valid:
            events = [event for _, event in valid]
            results = await self.publisher.publish_many(event_records(events, carrier.id, now))
            failed = 0
            for (index, event), result in zip(valid, results, strict=True):
                if result is None:
                    self.metrics.count(carrier.id, event.event_type, ACCEPTED)
                    outcomes[index] = ItemOutcome(event.event_id, True)
                else:
                    failed += 1
                    self.metrics.count(carrier.id, event.event_type, UNAVAILABLE)
                    outcomes[index] = ItemOutcome(
                        event.event_id, False, [UNAVAILABLE_VIOLATION], unavailable=True
                    )
            if failed:
                log.warning(
                    "batch events not acknowledged by the broker",
                    extra={"failed": failed, "valid": len(valid), "carrier": carrier.id},
                )
        return [outcome for outcome in outcomes if outcome is not None]
