"""Rate cards: the shipped examples load; every invalid card is refused with a message
naming the file and the field at fault.

Also home of the small topology and card the other tariff unit tests price with (round
numbers, so every expected amount can be computed by hand).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from corridor.journeys import DESTINATIONS, ORIGINS
from corridor.topology import Topology, load_topology, parse_topology
from services.tariff.rates import UNITS, CardBook, CardError, load_card_book, parse_card
from services.tariff.settings import SHIPPED_CARDS

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


def test_the_shipped_cards_load_and_are_marked_as_examples() -> None:
    book = load_card_book(SHIPPED_CARDS, load_topology())
    assert len(book.cards) >= 1
    assert all(card.example for card in book.cards)
    assert all(card.currency == "USD" for card in book.cards)
    for path in SHIPPED_CARDS.glob("*.yaml"):
        assert "NOT published rates" in path.read_text(encoding="utf-8")


def test_the_shipped_cards_price_every_demo_route_and_unit() -> None:
    from decimal import Decimal

    from services.tariff.rates import QuoteRequest, price

    topology = load_topology()
    book = load_card_book(SHIPPED_CARDS, topology)
    for card in book.cards:
        for origin in ORIGINS:
            for destination in set(DESTINATIONS):
                for unit in UNITS:
                    request = QuoteRequest(origin, destination, unit, Decimal(20000), date.today())
                    assert price(card, topology, request).total > 0


def test_the_small_card_is_valid() -> None:
    card = parse_card(small_card(), "small.yaml", small_topology())
    assert card.version == "TEST-1"
    assert set(card.rail) == {"RWA", "RWB"}


Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    """Set a dotted path (list indexes as numbers) in the raw card."""

    def mutate(card: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = card
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        elif value is _DELETE:
            del node[last]
        else:
            node[last] = value

    return mutate


_DELETE = object()

INVALID: list[tuple[str, Mutation, str, str]] = [
    ("unknown currency", _set("currency", "XYZ"), "currency", "unknown currency XYZ"),
    ("malformed currency", _set("currency", "usd"), "currency", "not an ISO 4217 code"),
    (
        "negative rate",
        _set("rail.0.per_km.40HC", "-0.10"),
        "rail[0].per_km.40HC",
        "must not be negative",
    ),
    (
        "missing container type",
        _set("ferry.0.rates.45HC", _DELETE),
        "ferry[0].rates.45HC",
        "missing",
    ),
    (
        "missing wagon rate",
        _set("handling.1.rates.WAGON", _DELETE),
        "handling[1].rates.WAGON",
        "missing",
    ),
    (
        "unknown unit",
        _set("handling.0.rates.53HC", "1.00"),
        "handling[0].rates.53HC",
        "unknown field",
    ),
    (
        "not a number",
        _set("ferry.0.rates.40HC", "lots"),
        "ferry[0].rates.40HC",
        "not a decimal number",
    ),
    (
        "unknown rail operator",
        _set("rail.0.operator", "NOPE"),
        "rail[0].operator",
        "unknown operator 'NOPE'",
    ),
    ("unknown section", _set("rail.0.section", "FR"), "rail[0].section", "unknown section 'FR'"),
    (
        "section of another country",
        _set("rail.0.section", "AZ"),
        "rail[0].section",
        "not the section of RWA (KZ)",
    ),
    (
        "unknown handling node",
        _set("handling.0.node", "KZZZZ"),
        "handling[0].node",
        "unknown corridor node 'KZZZZ'",
    ),
    (
        "handling at a hub",
        _set("handling.0.node", "AZRRR"),
        "handling[0].node",
        "AZRRR is not a port",
    ),
    (
        "segment not in the topology",
        _set("ferry.0.to", "AZRRR"),
        "ferry[0]",
        "no segment KZPPP-AZRRR",
    ),
    ("ferry on a rail segment", _set("ferry.0.to", "KZBBB"), "ferry[0]", "is RAIL, not VESSEL"),
    (
        "rail segment of another railway",
        _set("rail.1.segments.0.from", "KZPPP"),
        "rail[1].segments[0]",
        "no segment KZPPP-AZRRR",
    ),
    ("unknown top-level field", _set("discount", []), "discount", "unknown field"),
    ("version not a string", _set("version", 2026.1), "version", "must be a non-empty string"),
    (
        "validity ends before it starts",
        _set("valid_to", date(2025, 1, 1)),
        "valid_to",
        "must be after valid_from",
    ),
    (
        "date-time instead of date",
        _set("valid_from", "2026-01-01T00:00"),
        "valid_from",
        "is not a date",
    ),
    ("missing currency", _set("currency", _DELETE), "currency", "missing"),
    (
        "unknown overweight operator",
        _set("surcharges.overweight.operator", "X"),
        "surcharges.overweight.operator",
        "unknown operator",
    ),
    (
        "missing overweight limit",
        _set("surcharges.overweight.limits_kg.40GP", _DELETE),
        "surcharges.overweight.limits_kg.40GP",
        "missing",
    ),
    (
        "negative free days",
        _set("surcharges.storage.free_days.port", -1),
        "surcharges.storage.free_days.port",
        "whole number of days",
    ),
    (
        "storage at a hub",
        _set("surcharges.storage.nodes", {"AZRRR": {"free_days": 1}}),
        "surcharges.storage.nodes.AZRRR",
        "neither a port nor a border",
    ),
    (
        "no rail component, no ferry, no handling",
        lambda c: c.update(rail=[], ferry=[], handling=[]),
        "rail",
        "at least one",
    ),
    (
        "discount with both kinds",
        _set("discounts.0.through_rate", rates()),
        "discounts[0]",
        "exactly one of percent or through_rate",
    ),
    (
        "discount above 100 percent",
        _set("discounts.0.percent", "101"),
        "discounts[0].percent",
        "at most 100",
    ),
    (
        "discount for an unknown node",
        _set("discounts.0.origin", "CNXXX"),
        "discounts[0].origin",
        "unknown corridor node",
    ),
    (
        "two discounts for one pair",
        _set("discounts.1", {"origin": "KZAAA", "destination": "AZRRR", "percent": "5"}),
        "discounts[1]",
        "has a discount already",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [pytest.param(m, f, msg, id=name) for name, m, f, msg in INVALID],
)
def test_an_invalid_card_is_refused_naming_the_file_and_the_field(
    mutate: Mutation, field: str, message: str
) -> None:
    raw = copy.deepcopy(small_card())
    mutate(raw)
    with pytest.raises(CardError) as caught:
        parse_card(raw, "broken.yaml", small_topology())
    assert caught.value.source == "broken.yaml"
    assert caught.value.field == field
    assert message in caught.value.message
    assert str(caught.value).startswith(f"rate card broken.yaml: {field}: ")


def test_two_cards_with_overlapping_validity_are_refused() -> None:
    topology = small_topology()
    first = parse_card(small_card(), "2026.yaml", topology)
    second = parse_card(
        small_card(version="TEST-2", valid_from=date(2026, 12, 1), valid_to=None),
        "2026b.yaml",
        topology,
    )
    with pytest.raises(CardError, match=r"2026b\.yaml: valid_from: validity overlaps 2026\.yaml"):
        CardBook([first, second])


def test_an_open_ended_card_overlaps_every_later_one() -> None:
    topology = small_topology()
    first = parse_card(small_card(valid_to=None), "open.yaml", topology)
    later = parse_card(
        small_card(version="TEST-2", valid_from=date(2030, 1, 1), valid_to=None),
        "later.yaml",
        topology,
    )
    with pytest.raises(CardError, match=r"overlaps open\.yaml"):
        CardBook([later, first])


def test_two_cards_with_the_same_version_are_refused() -> None:
    topology = small_topology()
    first = parse_card(small_card(), "a.yaml", topology)
    second = parse_card(small_card(valid_from=date(2027, 1, 1), valid_to=None), "b.yaml", topology)
    with pytest.raises(CardError, match=r"b\.yaml: version: TEST-1 also in a\.yaml"):
        CardBook([first, second])


def test_adjacent_cards_are_not_an_overlap_and_validity_is_half_open() -> None:
    topology = small_topology()
    first = parse_card(small_card(), "a.yaml", topology)
    second = parse_card(
        small_card(version="TEST-2", valid_from=date(2027, 1, 1), valid_to=None), "b.yaml", topology
    )
    book = CardBook([second, first])
    assert book.in_force(date(2026, 12, 31)) is first
    assert book.in_force(date(2027, 1, 1)) is second
    assert book.in_force(date(2025, 12, 31)) is None
    assert [(x.card.version, x.status) for x in book.listing(date(2026, 6, 1))] == [
        ("TEST-1", "in_force"),
        ("TEST-2", "upcoming"),
    ]
    assert [x.card.version for x in book.listing(date(2027, 6, 1))] == ["TEST-2"]


def test_loading_a_directory_names_the_broken_file(tmp_path: Path) -> None:
    good = small_card()
    (tmp_path / "a-good.yaml").write_text(yaml.safe_dump(good), encoding="utf-8")
    bad = small_card(version="T2", valid_from=date(2027, 1, 1), valid_to=None, currency="EURO")
    (tmp_path / "b-bad.yaml").write_text(yaml.safe_dump(bad), encoding="utf-8")
    with pytest.raises(CardError, match=r"rate card b-bad\.yaml: currency: 'EURO' is not"):
        load_card_book(tmp_path, small_topology())


def test_a_file_that_is_not_yaml_is_refused(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("version: [unclosed", encoding="utf-8")
    with pytest.raises(CardError, match=r"broken\.yaml: \(file\): not valid YAML"):
        load_card_book(tmp_path, small_topology())


def test_an_empty_card_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CardError, match="no rate cards"):
        load_card_book(tmp_path, small_topology())
