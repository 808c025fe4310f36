"""The final charge of a delivered shipment: its booked quote plus storage for the time it
actually spent at ports and border crossings beyond the free days. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from corridor.topology import Topology
from services.tariff.rates.card import RateCard, quantity
from services.tariff.rates.dwell import Dwell
from services.tariff.rates.money import round_money
from services.tariff.rates.pricing import Quote, Share, Surcharge, settle, tonnes


@dataclass(frozen=True)
class Charge:
    """What a delivered shipment is charged: its booked quote plus storage."""

    charge_id: str
    shipment_id: str
    quote: Quote
    surcharges: tuple[Surcharge, ...]  # the quote's and the storage surcharges
    total: Decimal
    apportionment: tuple[Share, ...]
    booked_at: datetime
    delivered_at: datetime
    computed_at: datetime


def started_days(seconds: float) -> int:
    """Whole days, any started day counting as one (a dwell of 3 d 1 s is 4 days)."""
    spell = timedelta(seconds=max(0.0, seconds))
    return spell.days + (1 if spell.seconds or spell.microseconds else 0)


def storage_surcharges(
    card: RateCard, topology: Topology, dwells: Iterable[Dwell], unit: str, weight_kg: Decimal
) -> tuple[Surcharge, ...]:
    """Per port or border node: every started day of dwell beyond the free days, at the
    node's per-day rate, earned by the node's operator."""
    if card.storage is None:
        return ()
    qty = quantity(unit, tonnes(weight_kg))
    result = []
    for dwell in dwells:
        node = topology.nodes.get(dwell.node)
        if node is None:
            continue
        terms = card.storage.terms(node.code, node.kinds)
        if terms is None:
            continue
        days = started_days(dwell.seconds) - terms.free_days
        if days > 0:
            amount = round_money(terms.per_day[unit] * qty * days, card.currency)
            result.append(Surcharge("storage", node.code, node.operator, days, amount))
    return tuple(result)


def final_charge(
    booked: Quote,
    card: RateCard,
    topology: Topology,
    dwells: Iterable[Dwell],
    *,
    charge_id: str,
    shipment_id: str,
    booked_at: datetime,
    delivered_at: datetime,
    computed_at: datetime,
) -> Charge:
    """The booked quote (legs, overweight, discount as quoted) plus storage from the
    actual dwell, priced with the booking's card."""
    storage = storage_surcharges(
        card, topology, dwells, booked.container_type, booked.gross_weight_kg
    )
    surcharges = booked.surcharges + storage
    total, shares = settle(booked.legs, surcharges, booked.discount, booked.currency)
    return Charge(
        charge_id=charge_id,
        shipment_id=shipment_id,
        quote=booked,
        surcharges=surcharges,
        total=total,
        apportionment=shares,
        booked_at=booked_at,
        delivered_at=delivered_at,
        computed_at=computed_at,
    )
