"""Use case of the consumer: states in, deliveries out, in one transaction.

For every ``ShipmentState`` consumed, each subscription whose principal may read the
shipment (``corridor.access``, from the booking that counts, ``corridor.parties``) and
whose filter takes the state gets a delivery row. Bookings come from cargo.events.v1; when
a shipment's bookings change, its latest stored state is matched again, so a reader that a
booking (or an amendment) names gets the current state even if that state came first.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from corridor.access import access_scopes, may_read
from corridor.parties import BookingClaim, BookingFacts, TrustRules, choose_booking
from corridor.v1 import shipments_pb2
from services.webhooks import store
from services.webhooks.contracts import delivery_body, parse_state, state_facts
from services.webhooks.db import PENDING, DeliveryRow, SubscriptionRow
from services.webhooks.domain import Filter, matches
from services.webhooks.metrics import WebhooksMetrics


@dataclass(frozen=True)
class Batch:
    """One consumed batch: booking claims (by shipment) and states, in topic order."""

    claims: Sequence[tuple[str, BookingClaim[BookingFacts]]]
    states: Sequence[shipments_pb2.ShipmentState]


class Deliveries:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rules: TrustRules,
        metrics: WebhooksMetrics,
        clock: Callable[[], datetime],
    ) -> None:
        self.sessions = sessions
        self.rules = rules
        self.metrics = metrics
        self.clock = clock

    async def apply(self, batch: Batch) -> int:
        """Store the batch's bookings and states and write their deliveries; the number
        of deliveries written. Idempotent: a redelivered batch writes nothing new."""
        async with self.sessions() as session, session.begin():
            await store.add_claims(session, batch.claims)
            latest: dict[str, tuple[int, bytes]] = {}
            for state in batch.states:
                known = latest.get(state.shipment_id)
                if known is None or state.version > known[0]:
                    latest[state.shipment_id] = (state.version, state.SerializeToString())
            before = await store.save_latest_states(session, latest)
            # A state older than one already seen (a replayed topic) is not sent: it would
            # reach subscribers after its successor.
            states = [s for s in batch.states if s.version >= before.get(s.shipment_id, 0)]
            # A shipment whose bookings changed: its latest state again (new readers).
            rebooked = {s for s, _ in batch.claims} - set(latest)
            states += [parse_state(v) for v in await store.latest_states(session, rebooked)]
            if not states:
                return 0
            subscriptions = await store.subscriptions(session)
            if not subscriptions:
                return 0
            claims = await store.claims_of(session, {s.shipment_id for s in states})
            rows = self._rows(states, subscriptions, claims)
            await store.insert_ignoring(
                session, DeliveryRow, rows, ("subscription_id", "shipment_id", "version")
            )
        self.metrics.enqueued.inc(len(rows))
        return len(rows)

    def _rows(
        self,
        states: Sequence[shipments_pb2.ShipmentState],
        subscriptions: Sequence[SubscriptionRow],
        claims: dict[str, list[BookingClaim[BookingFacts]]],
    ) -> list[dict[str, object]]:
        now = self.clock()
        rows: dict[tuple[str, str, int], dict[str, object]] = {}
        filters = {s.id: Filter.from_doc(s.filter) for s in subscriptions}
        scopes_of: dict[str, frozenset[str]] = {}
        for state in states:
            shipment_id = state.shipment_id
            if shipment_id not in scopes_of:
                choice = choose_booking(claims.get(shipment_id, []), self.rules.is_operator)
                facts = None if choice.effective is None else choice.effective.payload
                if facts is not None and choice.booked_at is not None:
                    facts = _with_booker(facts, choice.booker or facts.booker, choice.booked_at)
                scopes_of[shipment_id] = access_scopes(self.rules, facts)
            facts_of_state = state_facts(state)
            for subscription in subscriptions:
                key = (subscription.id, shipment_id, state.version)
                if key in rows or not matches(filters[subscription.id], facts_of_state):
                    continue
                principal = self.rules.registry.get(subscription.principal)
                if principal is None or not may_read(self.rules, principal, scopes_of[shipment_id]):
                    continue
                delivery_id = str(uuid.uuid4())
                rows[key] = {
                    "id": delivery_id,
                    "subscription_id": subscription.id,
                    "shipment_id": shipment_id,
                    "version": state.version,
                    "body": delivery_body(delivery_id, subscription.id, state, now),
                    "status": PENDING,
                    "attempts": 0,
                    "created_at": now,
                    "next_attempt_at": now,
                }
        return list(rows.values())


def _with_booker(facts: BookingFacts, booker: str, booked_at: datetime) -> BookingFacts:
    """The effective booking's facts with the shipment's booker (the first booking's
    carrier, whoever posted the amendment that counts) and first booking time."""
    return replace(facts, booker=booker, booked_at=booked_at)
