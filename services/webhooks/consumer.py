"""The entrypoint of the one consumer loop: cargo.shipments.v1 (states to deliver) and
cargo.events.v1 (bookings: who may read each shipment), decoded at the edge.

A state record that is not a ``ShipmentState`` is dead-lettered with the reason. Event
records are read only for bookings; one that breaks the event contract is skipped here
(the tracker and the tariff dead-letter it already).
"""

from __future__ import annotations

import asyncio

from aiokafka import ConsumerRecord

from corridor.kafka import DeadLetter
from corridor.parties import BookingClaim, BookingFacts
from corridor.v1 import shipments_pb2
from services.webhooks.contracts import StateError, booking_claim, parse_state
from services.webhooks.handlers import Batch, Deliveries


class RecordConsumer:
    def __init__(
        self,
        deliveries: Deliveries,
        shipments_topic: str,
        nodes: frozenset[str],
        wake: asyncio.Event,
    ) -> None:
        self.deliveries = deliveries
        self.shipments_topic = shipments_topic
        self.nodes = nodes
        self.wake = wake  # set when deliveries were written: the sender looks at once

    async def handle(self, records: list[ConsumerRecord]) -> list[DeadLetter]:
        letters: list[DeadLetter] = []
        claims: list[tuple[str, BookingClaim[BookingFacts]]] = []
        states: list[shipments_pb2.ShipmentState] = []
        for record in records:
            if record.topic == self.shipments_topic:
                try:
                    states.append(parse_state(record.value))
                except StateError as exc:
                    letters.append(DeadLetter(record, str(exc)))
                continue
            claim = booking_claim(record.value, self.nodes)
            if claim is not None:
                claims.append(claim)
        if claims or states:
            written = await self.deliveries.apply(Batch(claims, states))
            if written:
                self.wake.set()
        return letters
