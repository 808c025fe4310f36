"""The Kafka entrypoint: ``cargo.events.v1`` records in (``publication.py`` is the way
out, ``ShipmentState`` records).

A record is decoded and checked here, at the edge, by the event contract
(``corridor.contract``, the same rules and reasons as the tariff's); what breaks it (cannot
be decoded, lacks a required field, names an unknown enum value or an unknown node, ...) or
cannot be applied for a permanent reason becomes a ``DeadLetter`` with a precise reason,
and so does a conflicting
duplicate (an ``event_id`` the carrier used before for different content). Anything else
(database down, a bug) raises, and ``ConsumerLoop`` retries the batch.
"""

from __future__ import annotations

import logging
from typing import Protocol

from aiokafka import ConsumerRecord

from corridor.contract import codec, enums
from corridor.contract.validation import ContractError
from corridor.kafka import (
    DeadLetter,
)
from corridor.logging import correlation_id
from corridor.topology import Topology
from services.tracker.domain import (
    Classifier,
    Event,
    EventType,
)
from services.tracker.handlers import BatchResult, is_permanent

log = logging.getLogger(__name__)

SOURCE = "/corridor/tracker"
_EVENT_TYPES = {name: EventType(name) for name in enums.EVENT_TYPE.names}
_CLASSIFIERS = {name: Classifier(name) for name in enums.CLASSIFIER.names}


def decode(value: bytes | None, topology: Topology) -> Event:
    """A ``CargoEvent`` as a domain ``Event``; raises ``ContractError`` with the reason.

    The contract (``corridor.contract``) decodes and validates; this only maps its value
    onto the tracker's types."""
    data = codec.decode(value, topology.nodes)
    return Event(
        data.carrier,
        data.event_id,
        data.shipment_id,
        _EVENT_TYPES[data.event_type],
        _CLASSIFIERS[data.classifier],
        data.occurred_at,
        data.location,
        data.recorded_at,
        data.mode,
        data.container_no,
        data.wagon_no,
        data.reason,
        data.booking,
    )


class Applier(Protocol):
    """What the handler needs of the tracker (``handlers.Tracker``; a fake in unit tests)."""

    async def apply(self, batch: list[Event]) -> BatchResult: ...

    def count_dead_letters(self, count: int) -> None: ...

    async def publish_pending(self) -> None: ...


class EventsHandler:
    """The ``ConsumerLoop`` handler: decode, apply the batch in one transaction, publish the
    changed states, and return what must be dead-lettered."""

    def __init__(self, tracker: Applier, topology: Topology) -> None:
        self.tracker = tracker
        self.topology = topology

    async def __call__(self, records: list[ConsumerRecord]) -> list[DeadLetter]:
        letters: list[DeadLetter] = []
        decoded: list[tuple[ConsumerRecord, Event]] = []
        for record in records:
            try:
                decoded.append((record, decode(record.value, self.topology)))
            except ContractError as exc:
                letters.append(DeadLetter(record, str(exc)))
        try:
            result = await self.tracker.apply([event for _, event in decoded])
        except Exception as exc:
            if not is_permanent(exc):
                raise
            letters += await self._one_by_one(decoded)
        else:
            letters += _conflicting(decoded, result)
        self.tracker.count_dead_letters(len(letters))
        await self.tracker.publish_pending()
        return letters

    async def _one_by_one(self, decoded: list[tuple[ConsumerRecord, Event]]) -> list[DeadLetter]:
        """A batch failed for a permanent reason: find the events at fault."""
        letters = []
        for record, event in decoded:
            token = correlation_id.set(f"{event.carrier}/{event.event_id}")
            try:
                result = await self.tracker.apply([event])
            except Exception as exc:
                if not is_permanent(exc):
                    raise
                log.warning("event cannot be applied", exc_info=True)
                letters.append(DeadLetter(record, f"cannot be applied: {exc}"[:1000]))
            else:
                letters += _conflicting([(record, event)], result)
            finally:
                correlation_id.reset(token)
        return letters


def _conflicting(
    decoded: list[tuple[ConsumerRecord, Event]], result: BatchResult
) -> list[DeadLetter]:
    """Dead letters for the copies of known events whose content differs."""
    if not result.conflicting:
        return []
    reasons = {id(event): reason for event, reason in result.conflicting}
    letters = []
    for record, event in decoded:
        reason = reasons.get(id(event))
        if reason is not None:
            log.warning(
                "conflicting duplicate dead-lettered",
                extra={"carrier": event.carrier, "event_id": event.event_id},
            )
            letters.append(DeadLetter(record, reason))
    return letters
