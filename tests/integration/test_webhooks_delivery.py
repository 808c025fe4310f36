"""Partner webhooks against a real receiver on loopback, the real broker and both
databases: signed deliveries, a retry after a 500, order per shipment, nothing lost when
the sender stops mid-delivery, and a party that never receives another party's shipment."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from itertools import pairwise

import pytest

from corridor.kafka import (
    DLQ_REASON,
    DLQ_SOURCE_TOPIC,
    EVENTS_DLQ_TOPIC,
    OutgoingRecord,
    Publisher,
)
from corridor.settings import KafkaSettings
from services.webhooks.domain import verify
from tests.conftest import unique
from tests.integration.webhook_receiver import Received, Receiver
from tests.integration.webhooks_support import (
    SECRET,
    publish_booking,
    publish_states,
    running,
    state,
    subscribe,
    webhooks_settings,
)
from tests.support import eventually, read_records

pytestmark = pytest.mark.integration


@pytest.fixture
async def publisher(kafka_settings: KafkaSettings) -> AsyncIterator[Publisher]:
    p = Publisher(kafka_settings, "webhooks-test")
    await p.start()
    yield p
    await p.stop()


def versions_by_shipment(received: list[Received]) -> dict[str, list[int]]:
    """The versions each shipment's deliveries brought, in the order they arrived."""
    seen: dict[str, list[int]] = defaultdict(list)
    for r in received:
        doc = r.doc
        seen[doc["shipment_id"]].append(int(doc["version"]))
    return dict(seen)


def in_order(versions: list[int]) -> bool:
    """Non-decreasing: a repeat (at least once) is fine, going back is not."""
    return all(a <= b for a, b in pairwise(versions))


async def test_deliveries_are_signed_retried_after_a_500_and_in_order_per_shipment(
    database_url: str, kafka_settings: KafkaSettings, publisher: Publisher
) -> None:
    settings = webhooks_settings(database_url, kafka_settings)
    a, b = unique("SHP-A"), unique("SHP-B")
    async with Receiver() as receiver, running(settings) as client:
        sub = await subscribe(client, "mcm", receiver.url, shipment_ids=[a, b])
        receiver.fail(2)  # the first two attempts get a 500
        await publish_booking(publisher, settings, a, shipper="shipper-xian")
        await publish_booking(publisher, settings, b)
        await publish_states(publisher, settings, *(state(a, v) for v in (1, 2, 3)))
        await publish_states(publisher, settings, state(b, 1), state(b, 2, "DELIVERED", "GEPTI"))

        async def all_delivered() -> bool | None:
            got = versions_by_shipment(receiver.delivered())
            return True if got.get(a, [])[-1:] == [3] and got.get(b, [])[-1:] == [2] else None

        await eventually(all_delivered, within=30)

        failed = [r for r in receiver.requests if r.status == 500]
        assert len(failed) == 2
        retried = {r.headers["notification-id"] for r in receiver.delivered()}
        assert {r.headers["notification-id"] for r in failed} <= retried  # same delivery again
        for r in receiver.requests:
            assert verify(SECRET, r.body, r.headers["notification-signature"])
            assert r.headers["notification-signature"].startswith("sha256=")
            assert r.headers["notification-timestamp"].endswith("Z")
            assert r.headers["content-type"] == "application/json"
            assert r.doc["id"] == r.headers["notification-id"]
            assert r.doc["subscription_id"] == sub
        # Every state, in order per shipment: no version before the one preceding it.
        got = versions_by_shipment(receiver.delivered())
        assert sorted(set(got[a])) == [1, 2, 3]
        assert sorted(set(got[b])) == [1, 2]
        assert in_order(got[a])
        assert in_order(got[b])
        last = next(
            r.doc
            for r in receiver.delivered()
            if r.doc["version"] == 2 and r.doc["shipment_id"] == b
        )
        assert last["type"] == "corridor.v1.ShipmentState"
        assert last["data"]["status"] == "SHIPMENT_STATUS_DELIVERED"
        assert last["data"]["current_location"] == "GEPTI"
        assert last["data"]["last_event"]["event_type"] == "EVENT_TYPE_DEPARTED"

        # The sender counts a delivery after the receiver has answered: wait for the count.
        lag = "corridor_webhooks_delivery_lag_seconds_count 5.0"

        async def counted() -> str | None:
            text = (await client.get("/metrics")).text
            return text if lag in text else None

        metrics = await eventually(counted, within=10)
        assert 'corridor_webhooks_delivery_failures_total{reason="http_status"} 2.0' in metrics


# SQLite only: a restart waits for the broker's consumer group to settle (about 20 s), and
# the outbox's queries are the same on PostgreSQL (the test above runs there).
@pytest.mark.parametrize("_database_factory", ["sqlite"], indirect=True)
async def test_no_delivery_is_lost_when_the_sender_stops_mid_delivery(
    database_url: str, kafka_settings: KafkaSettings, publisher: Publisher
) -> None:
    settings = webhooks_settings(database_url, kafka_settings)
    shipment = unique("SHP-R")
    async with Receiver() as receiver:
        async with running(settings) as client:
            await subscribe(client, "mcm", receiver.url, shipment_ids=[shipment])
            await publish_booking(publisher, settings, shipment)
            await publish_states(publisher, settings, state(shipment, 1))
            await eventually(lambda: _true_if(len(receiver.delivered()) == 1), within=30)
            receiver.hold()  # the next delivery hangs in the receiver...
            await publish_states(publisher, settings, *(state(shipment, v) for v in (2, 3)))
            await eventually(lambda: _true_if(receiver.arrived.is_set()), within=30)
        # ...and the service stopped while it was in flight; started again, it sends it
        # again (the same delivery id) and then the next one.
        receiver.release()
        async with running(settings):
            await eventually(
                lambda: _true_if(
                    versions_by_shipment(receiver.delivered()).get(shipment, [])[-1:] == [3]
                ),
                within=30,
            )
        got = versions_by_shipment(receiver.delivered())[shipment]
        assert sorted(set(got)) == [1, 2, 3]
        assert in_order(got)
        ids_by_version: dict[str, set[str]] = defaultdict(set)
        for r in receiver.delivered():
            ids_by_version[r.doc["version"]].add(r.headers["notification-id"])
        # A version sent twice (in flight at the stop) kept its delivery id: receivers dedupe.
        assert all(len(ids) == 1 for ids in ids_by_version.values())


async def test_a_partys_subscription_never_receives_another_partys_shipment(
    database_url: str, kafka_settings: KafkaSettings, publisher: Publisher
) -> None:
    settings = webhooks_settings(database_url, kafka_settings)
    mine, theirs, late = unique("SHP-X"), unique("SHP-T"), unique("SHP-L")
    async with (
        Receiver() as shipper,
        Receiver() as consignee,
        Receiver() as operator,
        running(settings) as client,
    ):
        await subscribe(client, "shipper-xian", shipper.url)
        await subscribe(client, "consignee-tbilisi", consignee.url)
        await subscribe(client, "mcm", operator.url, shipment_ids=[mine, theirs, late])
        await publish_booking(publisher, settings, mine, shipper="shipper-xian")
        await publish_booking(publisher, settings, theirs, consignee="consignee-tbilisi")
        await publish_states(publisher, settings, state(mine, 1), state(theirs, 1))
        # A state before its booking: the booking then names the shipper, who gets it.
        await publish_states(publisher, settings, state(late, 1))
        await eventually(lambda: _true_if(len(operator.delivered()) == 3), within=30)
        await publish_booking(publisher, settings, late, shipper="shipper-xian")
        await eventually(lambda: _true_if(len(shipper.delivered()) == 2), within=30)
        await eventually(lambda: _true_if(len(consignee.delivered()) == 1), within=30)
        # One more state of each: still only their own.
        await publish_states(publisher, settings, state(mine, 2), state(theirs, 2))
        await eventually(lambda: _true_if(len(operator.delivered()) == 5), within=30)
        await eventually(lambda: _true_if(len(consignee.delivered()) == 2), within=30)
        await eventually(lambda: _true_if(len(shipper.delivered()) == 3), within=30)

    assert {r.doc["shipment_id"] for r in shipper.delivered()} == {mine, late}
    assert {r.doc["shipment_id"] for r in consignee.delivered()} == {theirs}


async def _true_if(condition: bool) -> bool | None:
    return True if condition else None


@pytest.mark.parametrize("_database_factory", ["sqlite"], indirect=True)
async def test_a_delivery_given_up_after_its_last_attempt_lets_the_next_state_go(
    database_url: str, kafka_settings: KafkaSettings, publisher: Publisher
) -> None:
    settings = webhooks_settings(database_url, kafka_settings, max_attempts=2)
    shipment = unique("SHP-G")
    async with Receiver() as receiver, running(settings) as client:
        await subscribe(client, "mcm", receiver.named_url, shipment_ids=[shipment])
        receiver.fail(2)  # both attempts of version 1 fail
        # A record on the state topic that is no ShipmentState: dead-lettered with why.
        await publisher.publish(OutgoingRecord(settings.shipments_topic, shipment, b"\xff\x00", []))
        await publish_booking(publisher, settings, shipment)
        await publish_states(publisher, settings, state(shipment, 1), state(shipment, 2))
        await eventually(lambda: _true_if(len(receiver.delivered()) == 1), within=30)
        assert [(r.doc["version"], r.status) for r in receiver.requests] == [
            (1, 500),
            (1, 500),
            (2, 200),
        ]
        # Sent to the address checked, under the callback's own name.
        assert {r.headers["host"] for r in receiver.requests} == {f"localhost:{receiver.port}"}
        metrics = (await client.get("/metrics")).text
        assert 'corridor_webhooks_delivery_attempts_total{outcome="given_up"} 1.0' in metrics
        letters = await read_records(
            kafka_settings.bootstrap_servers,
            EVENTS_DLQ_TOPIC,
            until=lambda rs: any(r.key == shipment.encode() for r in rs),
        )
        letter = next(r for r in letters if r.key == shipment.encode())
        headers = dict(letter.headers)
        assert headers[DLQ_SOURCE_TOPIC] == settings.shipments_topic.encode()
        assert headers[DLQ_REASON].startswith(b"undecodable ShipmentState")
        assert 'corridor_webhooks_delivery_attempts_total{outcome="failed"} 1.0' in metrics
