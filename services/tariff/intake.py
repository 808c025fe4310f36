"""What a batch of events brings, worked out before and between the repository's set-based
statements. Pure: no I/O.

1. ``copies``: the events by identity ``(carrier, event_id)``, each with every copy in the
   batch (its first copy's digest is what gets recorded when the identity is new);
2. ``sort_out``: against the digests known before the batch (stored, or the first copy's),
   a copy with other content is a conflicting duplicate (refused), the same content a retry
   (nothing to do), and the first copy of a new identity is fresh;
3. ``facts``: the fresh events as rows: booking claims (each priced with the card of its
   date) and movements (every other actual event). Estimates and plans are not facts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from corridor.topology import Topology
from services.tariff import rates, trust
from services.tariff.documents import quote_doc
from services.tariff.events import ShipmentEvent
from services.tariff.ports import ClaimRow, FactRow, MovementRow, SeenRow
from services.tariff.rates import CardBook, QuoteRequest

Key = tuple[str, str]
Indexed = tuple[int, ShipmentEvent]


@dataclass(frozen=True)
class Rejection:
    """An event that can never be applied (index in the batch, and why)."""

    index: int
    reason: str


def copies(events: Sequence[ShipmentEvent]) -> dict[Key, list[Indexed]]:
    found: dict[Key, list[Indexed]] = {}
    for index, event in enumerate(events):
        found.setdefault((event.carrier, event.event_id), []).append((index, event))
    return found


def seen_rows(batch: Mapping[Key, list[Indexed]]) -> list[SeenRow]:
    return [
        SeenRow(carrier=carrier, event_id=event_id, digest=found[0][1].digest)
        for (carrier, event_id), found in batch.items()
    ]


def conflict(event: ShipmentEvent) -> str:
    return (
        f"conflicting duplicate: {event.carrier} reused event_id {event.event_id} "
        "with different content"
    )


def sort_out(
    batch: Mapping[Key, list[Indexed]], new: set[Key], stored: Mapping[Key, str]
) -> tuple[list[Indexed], list[Rejection]]:
    """The fresh events (first copies of new identities) and the conflicting copies."""
    fresh: list[Indexed] = []
    rejections: list[Rejection] = []
    for key, found in batch.items():
        first_index, first = found[0]
        known = first.digest if key in new else stored.get(key, first.digest)
        if key in new:
            fresh.append((first_index, first))
        rejections += [Rejection(i, conflict(e)) for i, e in found if e.digest != known]
    fresh.sort(key=lambda item: item[0])
    return fresh, rejections


@dataclass
class Facts:
    """The rows of a batch's fresh facts, and what they already tell."""

    claims: list[ClaimRow] = field(default_factory=list)
    movements: list[MovementRow] = field(default_factory=list)
    # batch index of each fresh claim and movement, by identity
    index: dict[Key, int] = field(default_factory=dict)
    # the fresh movements as the trust rules judge them, by shipment
    new_movements: dict[str, list[trust.StoredMovement]] = field(default_factory=dict)
    # why a claim cannot be priced (kept: it may still name the booker), by identity
    unpriceable: dict[Key, str] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def shipments(self) -> set[str]:
        return {r["shipment_id"] for r in (*self.claims, *self.movements)}


def facts(
    fresh: Sequence[Indexed], book: CardBook, topology: Topology, received_at: datetime
) -> Facts:
    result = Facts()
    for index, event in fresh:
        if not event.actual:
            continue  # an estimate or plan: not a fact
        key = (event.carrier, event.event_id)
        recorded_at = event.recorded_at or received_at
        fact = FactRow(
            carrier=event.carrier,
            event_id=event.event_id,
            shipment_id=event.shipment_id,
            occurred_at=event.occurred_at,
            recorded_at=recorded_at,
        )
        if event.event_type != "BOOKED":
            result.movements.append(
                MovementRow(**fact, event_type=event.event_type, location=event.location)
            )
            result.new_movements.setdefault(event.shipment_id, []).append(
                trust.StoredMovement(
                    event.carrier,
                    event.event_type,
                    event.location,
                    event.occurred_at,
                    recorded_at,
                    event.event_id,
                )
            )
            result.index[key] = index
            continue
        if event.booking is None:
            result.rejections.append(Rejection(index, "BOOKED without booking details"))
            continue
        quote, reason = _priced(event, book, topology)
        result.claims.append(
            ClaimRow(**fact, details=trust.details_doc(event.booking), quote=quote)
        )
        result.index[key] = index
        if reason:
            result.unpriceable[key] = reason
    return result


def _priced(
    event: ShipmentEvent, book: CardBook, topology: Topology
) -> tuple[dict[str, Any] | None, str]:
    """The booking's quote with the card of its date, or why it cannot be priced."""
    details = event.booking
    assert details is not None
    request = QuoteRequest(
        origin=details.origin,
        destination=details.destination,
        container_type=details.container_type,
        gross_weight_kg=details.gross_weight_kg,
        shipping_date=event.occurred_at.astimezone(UTC).date(),
    )
    try:
        return quote_doc(rates.quote(book, topology, request)), ""
    except rates.PricingError as exc:
        return None, f"booking cannot be priced: booking.{exc.field}: {exc.message}"
