"""Reads and writes of the webhooks tables, in the caller's session (its unit of work).

Inserts ignore a row whose natural key exists (``insert_ignoring``), so a redelivered
record writes nothing twice; conditional updates claim a delivery for one sender at a time.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from corridor.parties import BookingClaim, BookingFacts
from services.webhooks.contracts import facts_doc, facts_from_doc
from services.webhooks.db import (
    DELIVERED,
    GIVEN_UP,
    PENDING,
    Base,
    BookingClaimRow,
    DeliveryRow,
    StateRow,
    SubscriptionRow,
)


async def insert_ignoring(
    session: AsyncSession, model: type[Base], rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    if not rows:
        return
    table = model.__table__
    ordered = sorted(rows, key=lambda r: tuple(r[k] for k in keys))  # no deadlocks
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    await session.execute(statement, ordered)


async def add_claims(
    session: AsyncSession, shipment_id_claims: Sequence[tuple[str, BookingClaim[BookingFacts]]]
) -> None:
    rows = [
        {
            "shipment_id": shipment_id,
            "carrier": c.carrier,
            "event_id": c.event_id,
            "occurred_at": c.occurred_at,
            "recorded_at": c.recorded_at,
            "booking": facts_doc(c.payload),
        }
        for shipment_id, c in shipment_id_claims
    ]
    await insert_ignoring(session, BookingClaimRow, rows, ("shipment_id", "carrier", "event_id"))


async def claims_of(
    session: AsyncSession, shipment_ids: Collection[str]
) -> dict[str, list[BookingClaim[BookingFacts]]]:
    claims: dict[str, list[BookingClaim[BookingFacts]]] = {}
    if not shipment_ids:
        return claims
    rows = await session.scalars(
        select(BookingClaimRow).where(BookingClaimRow.shipment_id.in_(sorted(shipment_ids)))
    )
    for row in rows:
        facts = facts_from_doc(row.carrier, row.occurred_at, row.booking)
        claim = BookingClaim(row.carrier, row.event_id, row.occurred_at, row.recorded_at, facts)
        claims.setdefault(row.shipment_id, []).append(claim)
    return claims


async def save_latest_states(
    session: AsyncSession, states: dict[str, tuple[int, bytes]]
) -> dict[str, int]:
    """Keep the newest version of each shipment's state; the versions stored before."""
    if not states:
        return {}
    query = select(StateRow.shipment_id, StateRow.version).where(
        StateRow.shipment_id.in_(sorted(states))
    )
    stored: dict[str, int] = {}
    for shipment_id, version in await session.execute(query):
        stored[shipment_id] = version
    for shipment_id in sorted(states):
        version, value = states[shipment_id]
        if shipment_id not in stored:
            session.add(StateRow(shipment_id=shipment_id, version=version, state=value))
        elif version > stored[shipment_id]:
            await session.execute(
                update(StateRow)
                .where(StateRow.shipment_id == shipment_id, StateRow.version < version)
                .values(version=version, state=value)
            )
    await session.flush()
    return stored


async def latest_states(session: AsyncSession, shipment_ids: Collection[str]) -> list[bytes]:
    if not shipment_ids:
        return []
    rows = await session.scalars(
        select(StateRow.state).where(StateRow.shipment_id.in_(sorted(shipment_ids)))
    )
    return list(rows)


async def subscriptions(
    session: AsyncSession, principal: str | None = None
) -> list[SubscriptionRow]:
    query = select(SubscriptionRow).order_by(SubscriptionRow.created_at, SubscriptionRow.id)
    if principal is not None:
        query = query.where(SubscriptionRow.principal == principal)
    return list(await session.scalars(query))


async def count_subscriptions(session: AsyncSession, principal: str) -> int:
    query = select(func.count()).select_from(SubscriptionRow)
    return int(await session.scalar(query.where(SubscriptionRow.principal == principal)) or 0)


async def delete_subscription(session: AsyncSession, subscription_id: str) -> None:
    # The pending deliveries go with it (ON DELETE CASCADE; explicit for clarity).
    await session.execute(delete(DeliveryRow).where(DeliveryRow.subscription_id == subscription_id))
    await session.execute(delete(SubscriptionRow).where(SubscriptionRow.id == subscription_id))


async def due_pending(session: AsyncSession, now: datetime, limit: int) -> list[DeliveryRow]:
    """Pending deliveries due now that have no earlier pending version of the same
    (subscription, shipment): each one the head of its queue."""
    earlier = DeliveryRow.__table__.alias("earlier")
    blocked = (
        select(earlier.c.id)
        .where(
            and_(
                earlier.c.subscription_id == DeliveryRow.subscription_id,
                earlier.c.shipment_id == DeliveryRow.shipment_id,
                earlier.c.status == PENDING,
                earlier.c.version < DeliveryRow.version,
            )
        )
        .exists()
    )
    query = (
        select(DeliveryRow)
        .where(DeliveryRow.status == PENDING, DeliveryRow.next_attempt_at <= now, ~blocked)
        .order_by(DeliveryRow.next_attempt_at, DeliveryRow.created_at)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def claim(
    session: AsyncSession, delivery_id: str, seen: datetime, lease_until: datetime
) -> bool:
    """Take a delivery for this sender (its next attempt moved to the lease's end); false
    when another sender took it first."""
    result = await session.execute(
        update(DeliveryRow)
        .where(
            DeliveryRow.id == delivery_id,
            DeliveryRow.status == PENDING,
            DeliveryRow.next_attempt_at == seen,
        )
        .values(next_attempt_at=lease_until)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def finish(
    session: AsyncSession,
    delivery_id: str,
    *,
    attempts: int,
    delivered: bool,
    next_attempt_at: datetime | None,
    now: datetime,
    error: str | None,
) -> None:
    """Record an attempt: delivered, failed to be retried at ``next_attempt_at``, or given
    up (failed with no next attempt)."""
    values: dict[str, Any] = {"attempts": attempts, "last_error": error}
    if delivered:
        values |= {"status": DELIVERED, "finished_at": now}
    elif next_attempt_at is None:
        values |= {"status": GIVEN_UP, "finished_at": now}
    else:
        values["next_attempt_at"] = next_attempt_at
    await session.execute(update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(values))


async def release(session: AsyncSession, delivery_ids: Sequence[str], now: datetime) -> None:
    """Give back claimed deliveries not attempted to the end (a stopping sender)."""
    if delivery_ids:
        await session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id.in_(delivery_ids), DeliveryRow.status == PENDING)
            .values(next_attempt_at=now)
        )


async def oldest_pending(session: AsyncSession) -> datetime | None:
    result = await session.scalar(
        select(func.min(DeliveryRow.created_at)).where(DeliveryRow.status == PENDING)
    )
    return result if isinstance(result, datetime) else None


async def count_pending(session: AsyncSession) -> int:
    query = select(func.count()).select_from(DeliveryRow).where(DeliveryRow.status == PENDING)
    return int(await session.scalar(query) or 0)
