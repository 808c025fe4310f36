"""The tariff's consumer and outbox on the in-memory unit of work: a batch the database
refuses dead-letters only the events at fault; what cannot be decoded is dead-lettered by
the contract's reason; a committed revision is published once and flagged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import cast

from aiokafka import ConsumerRecord

from corridor.journeys import Post
from corridor.kafka import OutgoingRecord, Publisher
from corridor.metrics import make_registry
from services.tariff.consumer import EventConsumer
from services.tariff.handlers import Tariff, charge_id
from services.tariff.metrics import TariffMetrics
from services.tariff.outbox import Outbox
from services.tariff.ports import StorageRefused, StoredCharge
from services.tariff.rates import load_card_book
from services.tariff.settings import SHIPPED_CARDS
from tests.conftest import unique
from tests.fakes.tariff import MemoryStore
from tests.tariff_support import RULES, TOPOLOGY, cargo_event, long_aktau_journey

BOOK = load_card_book(SHIPPED_CARDS, TOPOLOGY)
START = datetime.now(UTC) - timedelta(days=25)


class FakePublisher:
    """Stands in for the broker: acknowledges (or fails) and remembers what was sent."""

    def __init__(self) -> None:
        self.sent: list[OutgoingRecord] = []
        self.up = True

    async def publish_many(self, records: Sequence[OutgoingRecord]) -> list[Exception | None]:
        if not self.up:
            return [ConnectionError("broker down")] * len(records)
        self.sent += records
        return [None] * len(records)


def consumer_on(store: MemoryStore, publisher: FakePublisher) -> tuple[EventConsumer, Outbox]:
    tariff = Tariff(store, BOOK, TOPOLOGY, TariffMetrics(make_registry()), RULES)
    outbox = Outbox(store, cast(Publisher, publisher), "cargo.charges.test")
    return EventConsumer(tariff, outbox), outbox


def records(posts: list[Post], first_offset: int = 0) -> list[ConsumerRecord]:
    return [
        ConsumerRecord(
            "cargo.events.test",
            0,
            first_offset + i,
            0,
            0,
            p.body["shipment_id"].encode(),
            cargo_event(p).SerializeToString(),
            None,
            0,
            0,
            [],
        )
        for i, p in enumerate(posts)
    ]


async def test_a_batch_the_database_refuses_dead_letters_only_the_events_at_fault() -> None:
    store, publisher = MemoryStore(), FakePublisher()
    consumer, _ = consumer_on(store, publisher)
    shipment_id = unique("SHP")
    batch = records(long_aktau_journey(shipment_id, START))
    # The whole batch is refused, then, event by event, only the second.
    store.fail("record_seen", StorageRefused("value too long"), None, StorageRefused("too long"))

    letters = await consumer.handle(batch)
    assert [(letter.record.offset, letter.reason) for letter in letters] == [
        (1, "cannot be applied: too long")
    ]
    assert len(store.state.seen) == len(batch) - 1
    assert charge_id(shipment_id) in {c for c, _ in store.state.charges}
    assert [r.key for r in publisher.sent] == [shipment_id]


async def test_an_undecodable_record_is_dead_lettered_and_the_rest_applied() -> None:
    store, publisher = MemoryStore(), FakePublisher()
    consumer, _ = consumer_on(store, publisher)
    batch = records(long_aktau_journey(unique("SHP"), START))
    batch[2] = replace(batch[2], value=b"\xff not protobuf")

    [letter] = await consumer.handle(batch)
    assert letter.record.offset == 2
    assert letter.reason.startswith("undecodable CargoEvent:")
    assert len(store.state.seen) == len(batch) - 1


async def test_a_revision_is_published_once_flagged_and_retried_while_the_broker_is_down() -> None:
    store, publisher = MemoryStore(), FakePublisher()
    consumer, outbox = consumer_on(store, publisher)
    shipment_id = unique("SHP")
    publisher.up = False
    assert await consumer.handle(records(long_aktau_journey(shipment_id, START))) == []
    assert [c.charge_id for c in await unpublished(store)] == [charge_id(shipment_id)]

    publisher.up = True
    assert await outbox.flush() == 1
    assert await outbox.flush() == 0
    assert await unpublished(store) == []
    assert [r.key for r in publisher.sent] == [shipment_id]


async def unpublished(store: MemoryStore) -> list[StoredCharge]:
    async with store() as uow:
        return list(await uow.repository.unpublished(10))
