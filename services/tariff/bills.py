"""A shipment's charge from all its stored facts, and whether it is a new revision. Pure.

Which booking counts and which movements count is the trust rules' (``trust``, i.e.
``corridor.parties``), judged against the booking that counts now, so a booking (or an
amendment) that comes after the movements still decides; dwell is the corridor's one rule
(``rates.dwells``: ``corridor.movements``) over the movements that count.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from corridor.parties import TrustRules
from corridor.topology import Topology
from services.tariff import rates, trust
from services.tariff.documents import charge_doc, quote_from_doc
from services.tariff.ports import ChargeRow
from services.tariff.rates import CardBook, Movement
from services.tariff.revisions import next_revision
from services.tariff.trust import Booking, StoredMovement

# Charge ids derive from the shipment, so every revision of a shipment's charge has the
# same id however often it is computed (consumers of cargo.charges.v1 keep the highest
# revision of each charge_id, and deduplicate records on ce_id).
CHARGE_NAMESPACE = uuid.UUID("5b0c8f1e-2f4a-4d3c-9a57-1f3c2b6d9e10")


def charge_id(shipment_id: str) -> str:
    return str(uuid.uuid5(CHARGE_NAMESPACE, shipment_id))


@dataclass(frozen=True)
class Bill:
    """A new revision of a shipment's charge (``document``) after ``latest``."""

    shipment_id: str
    document: dict[str, Any]
    latest: Mapping[str, Any] | None
    computed_at: datetime

    @property
    def charge_id(self) -> str:
        return str(self.document["charge_id"])

    @property
    def revision(self) -> int:
        return int(self.document["revision"])

    def row(self) -> ChargeRow:
        doc = self.document
        return ChargeRow(
            charge_id=doc["charge_id"],
            revision=doc["revision"],
            shipment_id=self.shipment_id,
            card_version=doc["card_version"],
            currency=doc["currency"],
            total=doc["total"],
            document=doc,
            computed_at=self.computed_at,
            published_at=None,
        )


class MissingCard(Exception):
    """The booking's card is not loaded: the shipment cannot be charged now."""


def charge_document(
    book: CardBook,
    topology: Topology,
    rules: TrustRules,
    shipment_id: str,
    booking: Booking | None,
    movements: Sequence[StoredMovement],
    computed_at: datetime,
) -> dict[str, Any] | None:
    """The charge of a shipment whose booking counts (and was priced) and that has a
    ``DELIVERED`` that counts; ``None`` otherwise. Raises ``MissingCard``."""
    if booking is None or booking.quote is None:
        return None  # movements wait for a booking (that can be priced)
    counted = trust.counted(rules, booking, movements)
    delivered = [m.occurred_at for m in counted if m.event_type == "DELIVERED"]
    if not delivered:
        return None
    quote = quote_from_doc(booking.quote)
    card = book.version(quote.card_version)
    if card is None:
        raise MissingCard(quote.card_version)
    stays = rates.dwells(
        (Movement(m.event_type, m.location, m.occurred_at, m.carrier, m.event_id) for m in counted),
        topology,
        quote.origin,
    )
    charge = rates.final_charge(
        quote,
        card,
        topology,
        stays,
        charge_id=charge_id(shipment_id),
        shipment_id=shipment_id,
        booked_at=booking.effective.occurred_at,
        delivered_at=min(delivered),
        computed_at=computed_at,
    )
    return charge_doc(charge)


def bill(
    shipment_id: str,
    document: dict[str, Any] | None,
    latest: Mapping[str, Any] | None,
    computed_at: datetime,
) -> Bill | None:
    """The new revision ``document`` makes, if it bills otherwise than ``latest``. A
    shipment that is no longer chargeable (its DELIVERED no longer counts after an
    amendment) keeps its latest revision: a charge is never withdrawn here."""
    if document is None:
        return None
    revised = next_revision(latest, document)
    return None if revised is None else Bill(shipment_id, revised, latest, computed_at)
