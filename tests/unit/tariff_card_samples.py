"""The small topology and rate card the tariff unit tests price with: round rates on a
five-node line, so that every expected amount can be computed by hand (this module holds
no test)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from corridor.topology import Topology, parse_topology
from services.tariff.rates import UNITS, QuoteRequest, RateCard, parse_card

# KZAAA -rail RWA 100 km- KZBBB (border) -rail RWA 1000 km- KZPPP (port, PORTX)
#   -ferry SHIP 400 km- AZQQQ (port, PORTY) -rail RWB 500 km- AZRRR (hub)
SMALL_TOPOLOGY: dict[str, Any] = {
    "version": "test",
    "operators": [
        {"id": "RWA", "name": "Railway A", "country": "KZ"},
        {"id": "RWB", "name": "Railway B", "country": "AZ"},
        {"id": "SHIP", "name": "Shipping line", "country": "AZ"},
        {"id": "PORTX", "name": "Port X", "country": "KZ"},
        {"id": "PORTY", "name": "Port Y", "country": "AZ"},
        {"id": "JV", "name": "Joint venture", "country": "KZ"},
    ],
    "nodes": [
        {"code": "KZAAA", "name": "A", "country": "KZ", "kinds": ["hub"], "operator": "RWA"},
        {"code": "KZBBB", "name": "B", "country": "KZ", "kinds": ["border"], "operator": "RWA"},
        {"code": "KZPPP", "name": "P", "country": "KZ", "kinds": ["port"], "operator": "PORTX"},
        {"code": "AZQQQ", "name": "Q", "country": "AZ", "kinds": ["port"], "operator": "PORTY"},
        {"code": "AZRRR", "name": "R", "country": "AZ", "kinds": ["hub"], "operator": "RWB"},
    ],
    "segments": [
        {"from": "KZAAA", "to": "KZBBB", "mode": "RAIL", "operator": "RWA", "km": 100, "hours": 2},
        {
            "from": "KZBBB",
            "to": "KZPPP",
            "mode": "RAIL",
            "operator": "RWA",
            "km": 1000,
            "hours": 20,
        },
        {
            "from": "KZPPP",
            "to": "AZQQQ",
            "mode": "VESSEL",
            "operator": "SHIP",
            "km": 400,
            "hours": 20,
        },
        {"from": "AZQQQ", "to": "AZRRR", "mode": "RAIL", "operator": "RWB", "km": 500, "hours": 10},
    ],
}


def small_topology() -> Topology:
    return parse_topology(SMALL_TOPOLOGY)


def rates(**overrides: str) -> dict[str, str]:
    """A complete rate table: 1.00 per unit unless overridden (key ``T40HC`` = ``40HC``)."""
    table = dict.fromkeys(UNITS, "1.00")
    table.update({key.removeprefix("T"): value for key, value in overrides.items()})
    return table


def small_card(**top: Any) -> dict[str, Any]:
    """A valid card for the small topology, as parsed YAML; ``top`` replaces top-level keys."""
    card: dict[str, Any] = {
        "version": "TEST-1",
        "example": True,
        "valid_from": date(2026, 1, 1),
        "valid_to": date(2027, 1, 1),
        "currency": "USD",
        "rail": [
            {
                "operator": "RWA",
                "section": "KZ",
                "per_km": rates(
                    T20GP="0.40", T40GP="0.60", T40HC="0.65", T45HC="0.70", WAGON="0.02"
                ),
                "segments": [
                    {"from": "KZAAA", "to": "KZBBB", "rates": rates(T40HC="85.00", WAGON="1.50")}
                ],
            },
            {
                "operator": "RWB",
                "section": "AZ",
                "segments": [
                    {"from": "AZQQQ", "to": "AZRRR", "rates": rates(T40HC="455.55", WAGON="8.00")}
                ],
            },
        ],
        "ferry": [{"from": "KZPPP", "to": "AZQQQ", "rates": rates(T40HC="1000.00", WAGON="20.10")}],
        "handling": [
            {"node": "KZPPP", "rates": rates(T40HC="150.00", WAGON="3.30")},
            {"node": "AZQQQ", "rates": rates(T40HC="160.00", WAGON="3.00")},
        ],
        "surcharges": {
            "overweight": {
                "operator": "JV",
                "limits_kg": {"20GP": 24000, "40GP": 26500, "40HC": 26500, "45HC": 27500},
                "per_tonne": "40.00",
            },
            "storage": {
                "free_days": {"port": 3, "border": 2},
                "per_day": rates(T40HC="20.00", WAGON="0.50"),
                "nodes": {"AZQQQ": {"free_days": 5}},
            },
        },
        "discounts": [
            {"origin": "KZAAA", "destination": "AZRRR", "percent": "10"},
            {"origin": "KZBBB", "destination": "AZRRR", "through_rate": rates(T40HC="2100.00")},
        ],
    }
    card.update(top)
    return card


# What the pricing tests quote: the small card on the small topology.

TOPOLOGY = small_topology()
DAY = date(2026, 6, 1)


def card(**top: object) -> RateCard:
    return parse_card(small_card(**top), "small.yaml", TOPOLOGY)


def request(
    origin: str = "KZAAA",
    destination: str = "AZQQQ",
    unit: str = "40HC",
    kg: str = "24000",
    on: date = DAY,
) -> QuoteRequest:
    return QuoteRequest(origin, destination, unit, Decimal(kg), on)
