"""Rate cards: every invalid card is refused with a message naming the file and the
field at fault (one mutation of the small card of tariff_card_samples per case)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from services.tariff.rates import CardError, parse_card
from tests.unit.tariff_card_samples import rates, small_card, small_topology

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
