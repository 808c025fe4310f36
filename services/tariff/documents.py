"""Quotes and charges as JSON documents: the HTTP responses and the stored form are the
same shape. Money is a decimal string ("1234.50"), never a float."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from corridor.topology import Topology
from services.tariff.rates import Charge, Discount, Leg, Quote, RateCard, Share, Surcharge


def _money(value: Decimal) -> str:
    return str(value)


def _weight(value: Decimal) -> str:
    return format(value.normalize(), "f")


def leg_doc(leg: Leg) -> dict[str, Any]:
    return {
        "from": leg.from_node,
        "to": leg.to_node,
        "operator": leg.operator,
        "mode": leg.mode,
        "amount": _money(leg.amount),
        "basis": leg.basis,
    }


def surcharge_doc(surcharge: Surcharge) -> dict[str, Any]:
    return {
        "kind": surcharge.kind,
        "node": surcharge.node,
        "operator": surcharge.operator,
        "days": surcharge.days,
        "amount": _money(surcharge.amount),
    }


def shares_doc(shares: tuple[Share, ...]) -> list[dict[str, str]]:
    return [{"operator": s.operator, "amount": _money(s.amount)} for s in shares]


def discount_doc(discount: Discount | None) -> dict[str, str] | None:
    if discount is None:
        return None
    return {"kind": discount.kind, "rate": str(discount.rate), "amount": _money(discount.amount)}


def quote_doc(quote: Quote) -> dict[str, Any]:
    return {
        "origin": quote.origin,
        "destination": quote.destination,
        "container_type": quote.container_type,
        "gross_weight_kg": _weight(quote.gross_weight_kg),
        "shipping_date": quote.shipping_date.isoformat(),
        "card_version": quote.card_version,
        "example": quote.example,
        "currency": quote.currency,
        "legs": [leg_doc(leg) for leg in quote.legs],
        "subtotal": _money(quote.subtotal),
        "surcharges": [surcharge_doc(s) for s in quote.surcharges],
        "discount": discount_doc(quote.discount),
        "total": _money(quote.total),
        "apportionment": shares_doc(quote.apportionment),
    }


def quote_from_doc(doc: dict[str, Any]) -> Quote:
    discount = doc.get("discount")
    return Quote(
        origin=doc["origin"],
        destination=doc["destination"],
        container_type=doc["container_type"],
        gross_weight_kg=Decimal(doc["gross_weight_kg"]),
        shipping_date=date.fromisoformat(doc["shipping_date"]),
        card_version=doc["card_version"],
        example=bool(doc["example"]),
        currency=doc["currency"],
        legs=tuple(
            Leg(x["from"], x["to"], x["operator"], x["mode"], Decimal(x["amount"]), x["basis"])
            for x in doc["legs"]
        ),
        surcharges=tuple(
            Surcharge(x["kind"], x["node"], x["operator"], int(x["days"]), Decimal(x["amount"]))
            for x in doc["surcharges"]
        ),
        discount=Discount(discount["kind"], Decimal(discount["rate"]), Decimal(discount["amount"]))
        if discount
        else None,
        subtotal=Decimal(doc["subtotal"]),
        total=Decimal(doc["total"]),
        apportionment=tuple(
            Share(x["operator"], Decimal(x["amount"])) for x in doc["apportionment"]
        ),
    )


def _instant(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def charge_doc(charge: Charge) -> dict[str, Any]:
    quote = charge.quote
    return {
        "charge_id": charge.charge_id,
        "shipment_id": charge.shipment_id,
        "card_version": quote.card_version,
        "example": quote.example,
        "currency": quote.currency,
        "origin": quote.origin,
        "destination": quote.destination,
        "container_type": quote.container_type,
        "gross_weight_kg": _weight(quote.gross_weight_kg),
        "booked_at": _instant(charge.booked_at),
        "delivered_at": _instant(charge.delivered_at),
        "computed_at": _instant(charge.computed_at),
        "legs": [leg_doc(leg) for leg in quote.legs],
        "subtotal": _money(quote.subtotal),
        "surcharges": [surcharge_doc(s) for s in charge.surcharges],
        "discount": discount_doc(quote.discount),
        "quoted_total": _money(quote.total),
        "total": _money(charge.total),
        "apportionment": shares_doc(charge.apportionment),
    }


def _rates(rates: Mapping[str, Decimal]) -> dict[str, str]:
    return {unit: str(amount) for unit, amount in rates.items()}


def _segment(key: frozenset[str]) -> tuple[str, str]:
    a, b = sorted(key)
    return a, b


def card_doc(card: RateCard, status: str, topology: Topology) -> dict[str, Any]:
    """A card as published by ``GET /v1/tariffs`` (every rate, as decimal strings)."""
    surcharges: dict[str, Any] = {}
    if card.overweight is not None:
        surcharges["overweight"] = {
            "operator": card.overweight.operator,
            "limits_kg": _rates(card.overweight.limits_kg),
            "per_tonne": str(card.overweight.per_tonne),
        }
    if card.storage is not None:
        surcharges["storage"] = {
            "free_days": dict(card.storage.free_days),
            "per_day": _rates(card.storage.per_day),
            "nodes": {
                code: {
                    "free_days": o.free_days,
                    "per_day": _rates(o.per_day) if o.per_day is not None else None,
                }
                for code, o in card.storage.nodes.items()
            },
        }
    return {
        "version": card.version,
        "status": status,
        "example": card.example,
        "description": card.description,
        "source": card.source,
        "valid_from": card.valid_from.isoformat(),
        "valid_to": card.valid_to.isoformat() if card.valid_to else None,
        "currency": card.currency,
        "rail": [
            {
                "operator": r.operator,
                "section": r.section,
                "per_km": _rates(r.per_km) if r.per_km is not None else None,
                "segments": [
                    {"from": a, "to": b, "rates": _rates(rates)}
                    for (a, b), rates in sorted((_segment(k), v) for k, v in r.segments.items())
                ],
            }
            for r in card.rail.values()
        ],
        "ferry": [
            {
                "from": a,
                "to": b,
                "operator": _operator(topology, a, b),
                "rates": _rates(rates),
            }
            for (a, b), rates in sorted((_segment(k), v) for k, v in card.ferry.items())
        ],
        "handling": [
            {"node": code, "operator": topology.nodes[code].operator, "rates": _rates(rates)}
            for code, rates in card.handling.items()
        ],
        "surcharges": surcharges,
        "discounts": [
            {
                "origin": d.origin,
                "destination": d.destination,
                "percent": str(d.percent) if d.percent is not None else None,
                "through_rate": _rates(d.through_rate) if d.through_rate is not None else None,
            }
            for d in card.discounts.values()
        ],
    }


def _operator(topology: Topology, a: str, b: str) -> str:
    segment = topology.segment(a, b)
    return segment.operator if segment is not None else ""
