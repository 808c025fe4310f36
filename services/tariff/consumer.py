"""The cargo.events.v1 entrypoint: decode, apply, dead-letter what can never be applied,
then publish the charge revisions the batch issued.

A batch the database refuses (``StorageRefused``: a value or a constraint it will never
accept) is applied again event by event, so that only the events at fault are
dead-lettered and the rest applied; any other failure propagates and the consumer loop
retries the batch (nothing is dead-lettered because the database is down).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiokafka import ConsumerRecord

from corridor.contract.validation import ContractError
from corridor.kafka import DeadLetter
from services.tariff.bills import Bill
from services.tariff.contracts import decode_event
from services.tariff.events import ShipmentEvent
from services.tariff.handlers import Applied, Tariff
from services.tariff.intake import Rejection
from services.tariff.outbox import Outbox
from services.tariff.ports import StorageRefused

log = logging.getLogger(__name__)


class EventConsumer:
    def __init__(self, tariff: Tariff, outbox: Outbox) -> None:
        self.tariff = tariff
        self.outbox = outbox

    async def handle(self, records: list[ConsumerRecord]) -> list[DeadLetter]:
        letters: list[DeadLetter] = []
        events: list[ShipmentEvent] = []
        sources: list[ConsumerRecord] = []
        for record in records:
            try:
                events.append(decode_event(record.value, self.tariff.topology))
            except ContractError as exc:
                letters.append(DeadLetter(record, str(exc)))
            else:
                sources.append(record)
        if events:
            try:
                applied = await self.tariff.apply_batch(events)
            except StorageRefused:
                log.warning("the database refuses the batch; applying it event by event")
                applied = await self._one_by_one(events)
            for rejection in applied.rejections:
                letters.append(DeadLetter(sources[rejection.index], rejection.reason))
            if applied.issued:
                # Committed; a broker failure here leaves them to the outbox task (every
                # TARIFF_OUTBOX_INTERVAL_SECONDS), which also retries earlier failures.
                await self.outbox.publish(applied.issued)
        return letters

    async def _one_by_one(self, events: Sequence[ShipmentEvent]) -> Applied:
        """Each event in its own unit of work; those the database refuses are rejected."""
        rejections: list[Rejection] = []
        issued: list[Bill] = []
        for index, event in enumerate(events):
            try:
                applied = await self.tariff.apply_batch([event])
            except StorageRefused as exc:
                log.warning(
                    "event cannot be applied",
                    extra={"carrier": event.carrier, "event_id": event.event_id},
                )
                rejections.append(Rejection(index, f"cannot be applied: {exc}"[:1000]))
                continue
            rejections += [Rejection(index, r.reason) for r in applied.rejections]
            issued += applied.issued
        return Applied(rejections, issued)
