"""The tariff's use cases on the in-memory unit of work (``tests.fakes.tariff``): charging,
redelivery, conflicting duplicates, revisions, retries on a concurrent revision, failures
that store nothing, the start-up sweep and who may read a charge. The same storage
contract holds for SQLite and PostgreSQL (tests/integration/test_tariff_storage_contract)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from corridor.journeys import Post
from corridor.metrics import make_registry
from services.tariff.contracts import decode_event
from services.tariff.events import ShipmentEvent
from services.tariff.handlers import NotVisible, Tariff, charge_id
from services.tariff.metrics import TariffMetrics
from services.tariff.ports import ConcurrentRevision, StorageUnavailable
from services.tariff.rates import load_card_book
from services.tariff.settings import SHIPPED_CARDS
from tests.conftest import unique
from tests.fakes.tariff import MemoryStore
from tests.tariff_support import RULES, TOPOLOGY, cargo_event, long_aktau_journey

BOOK = load_card_book(SHIPPED_CARDS, TOPOLOGY)
START = datetime.now(UTC) - timedelta(days=25)
MCM = RULES.registry.principals["mcm"]


def tariff_on(store: MemoryStore) -> Tariff:
    return Tariff(store, BOOK, TOPOLOGY, TariffMetrics(make_registry()), RULES)


def decoded(posts: list[Post]) -> list[ShipmentEvent]:
    return [decode_event(cargo_event(p).SerializeToString()) for p in posts]


def aktau_departure(posts: list[Post]) -> Post:
    return next(
        p for p in posts if p.body["event_type"] == "DEPARTED" and p.body["location"] == "KZAAU"
    )


async def test_a_delivered_journey_is_charged_once_and_a_redelivery_changes_nothing() -> None:
    store = MemoryStore()
    tariff = tariff_on(store)
    shipment_id = unique("SHP")
    events = decoded(long_aktau_journey(shipment_id, START))

    applied = await tariff.apply_batch(events)
    assert applied.rejections == []
    [bill] = applied.issued
    assert (bill.charge_id, bill.revision) == (charge_id(shipment_id), 1)
    assert Decimal(bill.document["total"]) > 0

    again = await tariff.apply_batch(events)
    assert (again.rejections, again.issued) == ([], [])
    assert list(store.state.charges) == [(charge_id(shipment_id), 1)]
    assert len(store.state.seen) == len(events)


async def test_a_reused_event_id_with_other_content_is_refused_and_changes_nothing() -> None:
    store = MemoryStore()
    tariff = tariff_on(store)
    posts = long_aktau_journey(unique("SHP"), START)
    assert await tariff.apply(decoded(posts)) == []
    departure = aktau_departure(posts)
    moved = departure.occurred_at + timedelta(hours=1)
    body = {**departure.body, "occurred_at": moved.isoformat()}
    before = store.state.copy()

    [rejection] = await tariff.apply(decoded([Post(departure.carrier, body, moved)]))
    assert rejection.index == 0
    assert rejection.reason.startswith("conflicting duplicate:")
    assert store.state == before


async def test_a_departure_reported_after_the_delivery_revises_the_charge() -> None:
    tariff = tariff_on(MemoryStore())
    shipment_id = unique("SHP")
    posts = long_aktau_journey(shipment_id, START)
    departure = aktau_departure(posts)
    assert await tariff.apply(decoded([p for p in posts if p is not departure])) == []
    [late] = (await tariff.apply_batch(decoded([departure]))).issued

    shown = await tariff.shipment_charges(shipment_id, MCM)
    assert shown is not None
    first, second = shown["charges"]
    assert (first["revision"], second["revision"]) == (1, 2)
    assert late.document["revision"] == 2
    difference = Decimal(second["total"]) - Decimal(first["total"])
    assert Decimal(second["difference"]) == difference != 0


async def test_a_concurrent_revision_is_applied_again_on_fresh_data_and_committed_once() -> None:
    store = MemoryStore()
    tariff = tariff_on(store)
    shipment_id = unique("SHP")
    store.fail("add_charges", ConcurrentRevision("stored meanwhile"))

    applied = await tariff.apply_batch(decoded(long_aktau_journey(shipment_id, START)))
    assert applied.rejections == []
    assert [b.charge_id for b in applied.issued] == [charge_id(shipment_id)]
    assert store.commits == 1
    assert list(store.state.charges) == [(charge_id(shipment_id), 1)]


async def test_concurrent_revisions_past_the_attempts_raise_and_store_nothing() -> None:
    store = MemoryStore()
    tariff = tariff_on(store)
    store.fail("add_charges", *(ConcurrentRevision("stored meanwhile") for _ in range(5)))

    with pytest.raises(ConcurrentRevision):
        await tariff.apply(decoded(long_aktau_journey(unique("SHP"), START)))
    assert (store.commits, store.state.seen) == (0, {})


async def test_an_unavailable_database_propagates_and_stores_nothing() -> None:
    store = MemoryStore()
    store.fail("add_movements", StorageUnavailable("connection lost"))

    with pytest.raises(StorageUnavailable):
        await tariff_on(store).apply(decoded(long_aktau_journey(unique("SHP"), START)))
    assert (store.commits, store.state.seen, store.state.claims) == (0, {}, {})


async def test_the_sweep_charges_the_shipments_left_chargeable_but_uncharged() -> None:
    store = MemoryStore()
    tariff = tariff_on(store)
    ids = sorted(unique("SHP") for _ in range(3))
    for shipment_id in ids:
        assert await tariff.apply(decoded(long_aktau_journey(shipment_id, START))) == []
    store.state.charges.clear()  # as a crash before charging (or a card missing then) leaves

    assert await tariff.sweep(batch=2) == 3
    assert sorted(c for c, _ in store.state.charges) == sorted(charge_id(s) for s in ids)
    assert await tariff.sweep(batch=2) == 0


async def test_charges_are_shown_to_who_may_read_the_shipment_and_hidden_from_others() -> None:
    tariff = tariff_on(MemoryStore())
    shipment_id = unique("SHP")
    assert await tariff.apply(decoded(long_aktau_journey(shipment_id, START))) == []

    shown = await tariff.shipment_charges(shipment_id, MCM)
    assert shown is not None
    assert shown["booked_quote"] is not None
    assert [c["revision"] for c in shown["charges"]] == [1]
    with pytest.raises(NotVisible):
        await tariff.shipment_charges(shipment_id, RULES.registry.principals["partner-insurer"])
    assert await tariff.shipment_charges(unique("SHP"), MCM) is None
