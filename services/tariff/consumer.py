"""The cargo.events.v1 entrypoint: decode, apply, dead-letter what can never be applied,
then publish the charge revisions the batch issued."""

from __future__ import annotations

from aiokafka import ConsumerRecord

from corridor.contract.validation import ContractError
from corridor.kafka import DeadLetter
from services.tariff.contracts import decode_event
from services.tariff.events import ShipmentEvent
from services.tariff.handlers import Tariff
from services.tariff.outbox import Outbox


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
            applied = await self.tariff.apply_batch(events)
            for rejection in applied.rejections:
                letters.append(DeadLetter(sources[rejection.index], rejection.reason))
            if applied.issued:
                # Committed; a broker failure here leaves them to the outbox task (every
                # TARIFF_OUTBOX_INTERVAL_SECONDS), which also retries earlier failures.
                await self.outbox.publish(applied.issued)
        return letters
