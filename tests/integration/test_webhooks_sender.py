"""The sender against a real database and a receiver on loopback, without the broker: a
callback that now resolves to a refused address is never called, and the deliveries of a
principal that left the registry are given up unsent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from corridor import db
from services.webhooks.db import GIVEN_UP, MIGRATIONS, PENDING, DeliveryRow, SubscriptionRow
from services.webhooks.domain import RetryPolicy
from services.webhooks.guard import AddressPolicy
from services.webhooks.metrics import WebhooksMetrics
from services.webhooks.sender import Sender
from tests.integration.webhook_receiver import Receiver
from tests.integration.webhooks_support import SECRET

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = db.make_engine(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    await db.migrate(engine, MIGRATIONS)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def queue(sessions: async_sessionmaker[AsyncSession], principal: str, url: str) -> str:
    """A subscription with one delivery due now; the delivery's id."""
    async with sessions() as session, session.begin():
        session.add(
            SubscriptionRow(
                id=f"sub-{principal}",
                principal=principal,
                callback_url=url,
                secret=SECRET,
                filter={},
                created_at=NOW,
            )
        )
        await session.flush()
        session.add(
            DeliveryRow(
                id=f"d-{principal}",
                subscription_id=f"sub-{principal}",
                shipment_id="SHP-1",
                version=1,
                body="{}",
                status=PENDING,
                attempts=0,
                created_at=NOW,
                next_attempt_at=NOW,
            )
        )
    return f"d-{principal}"


def sender(
    sessions: async_sessionmaker[AsyncSession],
    client: httpx.AsyncClient,
    loopback: bool,
    known: set[str],
) -> tuple[Sender, CollectorRegistry]:
    registry = CollectorRegistry()
    metrics = WebhooksMetrics(registry)
    policy = AddressPolicy.of(loopback, [], False)
    retry = RetryPolicy(max_attempts=3, base_seconds=1.0, cap_seconds=2.0)
    return Sender(
        sessions, client, policy, retry, metrics, lambda: NOW, known=known.__contains__
    ), registry


def failures(registry: CollectorRegistry, reason: str) -> float | None:
    name = "corridor_webhooks_delivery_failures_total"
    return registry.get_sample_value(name, {"reason": reason})


async def test_a_callback_now_refused_is_never_called_and_retried_later(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with Receiver() as receiver, httpx.AsyncClient() as client:
        delivery = await queue(sessions, "mcm", receiver.url)
        strict, registry = sender(sessions, client, loopback=False, known={"mcm"})
        assert await strict.round() == 1
        async with sessions() as session:
            row = await session.get(DeliveryRow, delivery)
        assert row is not None
        assert (row.status, row.attempts) == (PENDING, 1)
        assert row.next_attempt_at > NOW
        assert row.last_error is not None
        assert "loopback" in row.last_error
        assert receiver.requests == []
        assert failures(registry, "refused_address") == 1


async def test_the_deliveries_of_a_principal_no_longer_known_are_given_up_unsent(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with Receiver() as receiver, httpx.AsyncClient() as client:
        gone = await queue(sessions, "partner-gone", receiver.url)
        kept = await queue(sessions, "mcm", receiver.url)
        local, registry = sender(sessions, client, loopback=True, known={"mcm"})
        assert await local.round() == 2
        async with sessions() as session:
            given_up = await session.get(DeliveryRow, gone)
            delivered = await session.get(DeliveryRow, kept)
        assert given_up is not None
        assert given_up.status == GIVEN_UP
        assert delivered is not None
        assert delivered.status == "delivered"
        assert [r.headers["notification-id"] for r in receiver.requests] == [kept]
        assert failures(registry, "principal_unknown") == 1
