"""Pricing: a quote from a card and the corridor's route.

Pure. Every line is rounded once by ``round_money`` (half up, to the currency's minor
unit); totals are sums of rounded lines; the apportionment gives each leg and surcharge
to its operator and shares the discount pro rata to the operators' legs by the largest-
remainder method, so the parts always sum to the total exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from corridor.equipment import MAX_GROSS_MASS_KG
from corridor.topology import Segment, Topology
from services.tariff.rates.book import CardBook
from services.tariff.rates.card import UNITS, RateCard, quantity, segment_key
from services.tariff.rates.money import ZERO, allocate, round_money

HANDLING = "HANDLING"  # the mode of a port handling leg (from == to == the port)


class PricingError(Exception):
    """A request that cannot be priced; ``field`` names the input at fault."""

    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message


@dataclass(frozen=True)
class QuoteRequest:
    origin: str
    destination: str
    container_type: str
    gross_weight_kg: Decimal
    shipping_date: date


@dataclass(frozen=True)
class Leg:
    from_node: str
    to_node: str
    operator: str
    mode: str  # RAIL, VESSEL or HANDLING
    amount: Decimal
    basis: str  # per_km, per_segment, per_crossing or per_call


@dataclass(frozen=True)
class Surcharge:
    kind: str  # overweight or storage
    node: str | None
    operator: str
    days: int  # chargeable days; 0 when not per day
    amount: Decimal


@dataclass(frozen=True)
class Discount:
    kind: str  # percent or through_rate
    rate: Decimal  # the percentage, or the preferential through-rate of this shipment
    amount: Decimal


@dataclass(frozen=True)
class Share:
    operator: str
    amount: Decimal


@dataclass(frozen=True)
class Quote:
    origin: str
    destination: str
    container_type: str
    gross_weight_kg: Decimal
    shipping_date: date
    card_version: str
    example: bool
    currency: str
    legs: tuple[Leg, ...]
    surcharges: tuple[Surcharge, ...]
    discount: Discount | None
    subtotal: Decimal  # the legs
    total: Decimal
    apportionment: tuple[Share, ...]


def tonnes(gross_weight_kg: Decimal) -> Decimal:
    return gross_weight_kg / 1000


def quote(book: CardBook, topology: Topology, request: QuoteRequest) -> Quote:
    """Price ``request`` with the card in force on its shipping date."""
    _check_request(topology, request)
    card = book.in_force(request.shipping_date)
    if card is None:
        raise PricingError(
            "no_card", "shipping_date", f"no rate card in force on {request.shipping_date}"
        )
    return price(card, topology, request)


def _check_request(topology: Topology, request: QuoteRequest) -> None:
    if request.container_type not in UNITS:
        raise PricingError(
            "unknown_container_type",
            "container_type",
            f"unknown container type {request.container_type!r} (one of {', '.join(UNITS)})",
        )
    weight = request.gross_weight_kg
    # No more than the maximum gross mass of the type (ISO 668 for containers), the same
    # bound as ingest's bookings.
    limit = MAX_GROSS_MASS_KG[request.container_type]
    if not weight.is_finite() or not ZERO < weight <= limit:
        raise PricingError(
            "invalid_weight",
            "gross_weight_kg",
            f"must be above 0 and at most {limit:,} kg, the maximum gross mass of a "
            f"{request.container_type}",
        )
    for field in ("origin", "destination"):
        code = getattr(request, field)
        if code not in topology.nodes:
            raise PricingError("unknown_node", field, f"unknown corridor node {code!r}")


def price(card: RateCard, topology: Topology, request: QuoteRequest) -> Quote:
    """Price ``request`` with ``card`` (whatever its validity)."""
    _check_request(topology, request)
    route = topology.route(request.origin, request.destination)
    if not route:
        raise PricingError(
            "no_route",
            "destination",
            f"no route from {request.origin} to {request.destination}",
        )
    unit = request.container_type
    qty = quantity(unit, tonnes(request.gross_weight_kg))
    legs = [*_handling(card, topology, request.origin, unit, qty)]
    for segment in route:
        legs.append(_segment_leg(card, segment, unit, qty))
        legs += _handling(card, topology, segment.destination, unit, qty)
    subtotal = sum((leg.amount for leg in legs), ZERO)
    surcharges = tuple(_overweight(card, request))
    discount = _discount(card, request, subtotal, qty)
    total, shares = settle(legs, surcharges, discount, card.currency)
    return Quote(
        origin=request.origin,
        destination=request.destination,
        container_type=unit,
        gross_weight_kg=request.gross_weight_kg,
        shipping_date=request.shipping_date,
        card_version=card.version,
        example=card.example,
        currency=card.currency,
        legs=tuple(legs),
        surcharges=surcharges,
        discount=discount,
        subtotal=round_money(subtotal, card.currency),
        total=total,
        apportionment=shares,
    )


def _no_rate(card: RateCard, what: str) -> PricingError:
    return PricingError("no_rate", "destination", f"card {card.version} has no rate for {what}")


def _segment_leg(card: RateCard, segment: Segment, unit: str, qty: Decimal) -> Leg:
    key = segment_key(segment.origin, segment.destination)
    name = f"{segment.mode.lower()} segment {segment.origin}-{segment.destination}"
    if segment.mode == "RAIL":
        rail = card.rail.get(segment.operator)
        if rail is None:
            raise _no_rate(card, f"{name} ({segment.operator})")
        if key in rail.segments:
            amount, basis = rail.segments[key][unit] * qty, "per_segment"
        elif rail.per_km is not None:
            km = Decimal(str(segment.km))
            amount, basis = rail.per_km[unit] * km * qty, "per_km"
        else:
            raise _no_rate(card, f"{name} ({segment.operator})")
    elif segment.mode == "VESSEL":
        if key not in card.ferry:
            raise _no_rate(card, name)
        amount, basis = card.ferry[key][unit] * qty, "per_crossing"
    else:
        raise _no_rate(card, name)
    return Leg(
        segment.origin,
        segment.destination,
        segment.operator,
        segment.mode,
        round_money(amount, card.currency),
        basis,
    )


def _handling(
    card: RateCard, topology: Topology, code: str, unit: str, qty: Decimal
) -> Iterable[Leg]:
    node = topology.nodes[code]
    if not node.is_port:
        return
    if code not in card.handling:
        raise _no_rate(card, f"handling at port {code}")
    amount = round_money(card.handling[code][unit] * qty, card.currency)
    yield Leg(code, code, node.operator, HANDLING, amount, "per_call")


def _overweight(card: RateCard, request: QuoteRequest) -> Iterable[Surcharge]:
    rule = card.overweight
    if rule is None or request.container_type not in rule.limits_kg:
        return
    over_kg = request.gross_weight_kg - rule.limits_kg[request.container_type]
    if over_kg > 0:
        amount = round_money(tonnes(over_kg) * rule.per_tonne, card.currency)
        yield Surcharge("overweight", None, rule.operator, 0, amount)


def _discount(
    card: RateCard, request: QuoteRequest, subtotal: Decimal, qty: Decimal
) -> Discount | None:
    rule = card.discounts.get((request.origin, request.destination))
    if rule is None:
        return None
    if rule.percent is not None:
        amount = round_money(subtotal * rule.percent / 100, card.currency)
        return Discount("percent", rule.percent, amount)
    assert rule.through_rate is not None
    through = round_money(rule.through_rate[request.container_type] * qty, card.currency)
    return Discount(
        "through_rate", through, max(subtotal - through, round_money(ZERO, card.currency))
    )


def settle(
    legs: Sequence[Leg],
    surcharges: Sequence[Surcharge],
    discount: Discount | None,
    currency: str,
) -> tuple[Decimal, tuple[Share, ...]]:
    """The total and each operator's part of it (in order of first appearance)."""
    earned: dict[str, Decimal] = {}
    from_legs: dict[str, Decimal] = {}
    for leg in legs:
        earned[leg.operator] = earned.get(leg.operator, ZERO) + leg.amount
        from_legs[leg.operator] = from_legs.get(leg.operator, ZERO) + leg.amount
    for surcharge in surcharges:
        earned[surcharge.operator] = earned.get(surcharge.operator, ZERO) + surcharge.amount
    discounted = discount.amount if discount is not None else ZERO
    if discounted:
        for operator, share in allocate(discounted, from_legs, currency).items():
            earned[operator] -= share
    total = round_money(
        sum((x.amount for x in legs), ZERO)
        + sum((x.amount for x in surcharges), ZERO)
        - discounted,
        currency,
    )
    shares = tuple(Share(op, round_money(amount, currency)) for op, amount in earned.items())
    if sum((s.amount for s in shares), ZERO) != total:  # a broken invariant, never a price
        raise AssertionError("apportionment does not sum to the total")
    return total, shares
