"""Every pricing rule of a quote against amounts computed by hand (the small card of
tariff_card_samples: round rates on a five-node line): legs, overweight, discounts, the
card in force, and what cannot be quoted.

Storage, dwells and the final charge: test_tariff_dwell_charges.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.tariff.rates import CardBook, PricingError, QuoteRequest, parse_card, price, quote
from tests.unit.tariff_card_samples import TOPOLOGY, card, request, small_card

D = Decimal


def amounts(quote_legs: object) -> list[tuple[str, str, str, str, str]]:
    return [
        (leg.from_node, leg.to_node, leg.operator, leg.mode, str(leg.amount))
        for leg in quote_legs  # type: ignore[attr-defined]
    ]


def test_each_component_prices_its_leg() -> None:
    q = price(card(), TOPOLOGY, request())
    assert amounts(q.legs) == [
        ("KZAAA", "KZBBB", "RWA", "RAIL", "85.00"),  # per segment: flat, wins over per km
        ("KZBBB", "KZPPP", "RWA", "RAIL", "650.00"),  # per km: 1000 km x 0.65
        ("KZPPP", "KZPPP", "PORTX", "HANDLING", "150.00"),  # handling per call
        ("KZPPP", "AZQQQ", "SHIP", "VESSEL", "1000.00"),  # ferry per crossing
        ("AZQQQ", "AZQQQ", "PORTY", "HANDLING", "160.00"),  # handling at the destination port
    ]
    assert [leg.basis for leg in q.legs] == [
        "per_segment",
        "per_km",
        "per_call",
        "per_crossing",
        "per_call",
    ]
    assert q.subtotal == q.total == D("2045.00")
    assert [(s.operator, str(s.amount)) for s in q.apportionment] == [
        ("RWA", "735.00"),
        ("PORTX", "150.00"),
        ("SHIP", "1000.00"),
        ("PORTY", "160.00"),
    ]
    assert (q.card_version, q.currency, q.surcharges, q.discount) == ("TEST-1", "USD", (), None)


def test_handling_is_charged_at_an_origin_port() -> None:
    q = price(card(), TOPOLOGY, request("KZPPP", "AZQQQ"))
    assert amounts(q.legs)[0] == ("KZPPP", "KZPPP", "PORTX", "HANDLING", "150.00")
    assert q.total == D("1310.00")  # 150 + 1000 + 160


def test_a_wagon_load_is_priced_per_tonne_and_each_line_rounds_half_up() -> None:
    # 24.25 t: handling 3.30/t = 80.025 -> 80.03; ferry 20.10/t = 487.425 -> 487.43;
    # handling 3.00/t = 72.75. The unrounded sum would be 640.20; the total is the sum of
    # the rounded lines.
    q = price(card(), TOPOLOGY, request("KZPPP", "AZQQQ", "WAGON", "24250"))
    assert [str(leg.amount) for leg in q.legs] == ["80.03", "487.43", "72.75"]
    assert q.total == D("640.21")


def test_a_wagon_rail_leg_is_priced_per_tonne_km() -> None:
    # 1000 km x 0.02 x 30 t = 600.00
    q = price(card(), TOPOLOGY, request("KZBBB", "KZPPP", "WAGON", "30000"))
    assert amounts(q.legs)[0] == ("KZBBB", "KZPPP", "RWA", "RAIL", "600.00")


def test_overweight_is_charged_per_tonne_over_the_limit_to_its_operator() -> None:
    # 28,250 kg on a 26,500 kg limit: 1.75 t x 40.00 = 70.00, earned by JV
    q = price(card(), TOPOLOGY, request(kg="28250"))
    [surcharge] = q.surcharges
    assert (surcharge.kind, surcharge.operator, surcharge.amount) == (
        "overweight",
        "JV",
        D("70.00"),
    )
    assert q.total == D("2115.00")
    assert q.apportionment[-1].operator == "JV"
    assert q.apportionment[-1].amount == D("70.00")


def test_overweight_rounds_a_half_cent_up() -> None:
    # 0.125 kg over: 0.000125 t x 40.00 = 0.005 -> 0.01
    q = price(card(), TOPOLOGY, request(kg="26500.125"))
    assert q.surcharges[0].amount == D("0.01")


def test_no_overweight_at_the_limit_nor_for_wagons() -> None:
    assert price(card(), TOPOLOGY, request(kg="26500")).surcharges == ()
    assert price(card(), TOPOLOGY, request(unit="WAGON", kg="60000")).surcharges == ()


def test_a_percentage_discount_is_rounded_half_up_and_shared_by_largest_remainder() -> None:
    # Legs 85 + 650 + 150 + 1000 + 160 + 455.55 = 2500.55; 10% = 250.055 -> 250.06.
    # Shares pro rata to the legs, in cents: RWA 7350.15, PORTX 1500.03, SHIP 10000.20,
    # PORTY 1600.03, RWB 4555.59: floors sum to 25005, the leftover cent goes to RWB.
    q = price(card(), TOPOLOGY, request("KZAAA", "AZRRR"))
    assert q.subtotal == D("2500.55")
    assert q.discount is not None
    assert (q.discount.kind, q.discount.rate, q.discount.amount) == ("percent", D(10), D("250.06"))
    assert q.total == D("2250.49")
    assert [(s.operator, str(s.amount)) for s in q.apportionment] == [
        ("RWA", "661.50"),
        ("PORTX", "135.00"),
        ("SHIP", "900.00"),
        ("PORTY", "144.00"),
        ("RWB", "409.99"),
    ]


def test_a_through_rate_replaces_the_sum_of_the_legs() -> None:
    # KZBBB -> AZRRR: 650 + 150 + 1000 + 160 + 455.55 = 2415.55; through-rate 2100.00
    q = price(card(), TOPOLOGY, request("KZBBB", "AZRRR"))
    assert q.discount is not None
    assert (q.discount.kind, q.discount.rate, q.discount.amount) == (
        "through_rate",
        D("2100.00"),
        D("315.55"),
    )
    assert q.total == D("2100.00")
    assert sum(s.amount for s in q.apportionment) == D("2100.00")


def test_a_through_rate_higher_than_the_legs_leaves_the_price_alone() -> None:
    raw = small_card()
    raw["discounts"][1]["through_rate"]["40HC"] = "9999.00"
    q = price(parse_card(raw, "x.yaml", TOPOLOGY), TOPOLOGY, request("KZBBB", "AZRRR"))
    assert q.discount is not None
    assert q.discount.amount == D("0.00")
    assert q.total == q.subtotal == D("2415.55")


def test_a_discount_applies_to_its_named_pair_in_its_direction_only() -> None:
    assert price(card(), TOPOLOGY, request("AZRRR", "KZAAA")).discount is None


def test_the_card_in_force_on_the_shipping_date_is_used() -> None:
    old = card()
    new = card(version="TEST-2", valid_from=date(2027, 1, 1), valid_to=None)
    book = CardBook([old, new])
    assert quote(book, TOPOLOGY, request(on=date(2026, 12, 31))).card_version == "TEST-1"
    assert quote(book, TOPOLOGY, request(on=date(2027, 1, 1))).card_version == "TEST-2"


@pytest.mark.parametrize(
    ("req", "code", "field"),
    [
        (request(origin="KZXXX"), "unknown_node", "origin"),
        (request(destination="CNURM"), "unknown_node", "destination"),
        (request(destination="KZAAA"), "no_route", "destination"),
        (request(on=date(2025, 12, 31)), "no_card", "shipping_date"),
        (request(unit="53HC"), "unknown_container_type", "container_type"),
        (request(kg="0"), "invalid_weight", "gross_weight_kg"),
        (request(kg="200001"), "invalid_weight", "gross_weight_kg"),
        (request(kg="36000.001"), "invalid_weight", "gross_weight_kg"),
        (request(unit="20GP", kg="36001"), "invalid_weight", "gross_weight_kg"),
        (request(unit="WAGON", kg="150001"), "invalid_weight", "gross_weight_kg"),
        (request(kg="NaN"), "invalid_weight", "gross_weight_kg"),
    ],
)
def test_what_cannot_be_quoted_names_the_field(req: QuoteRequest, code: str, field: str) -> None:
    with pytest.raises(PricingError) as caught:
        quote(CardBook([card()]), TOPOLOGY, req)
    assert (caught.value.code, caught.value.field) == (code, field)


def test_a_route_through_a_railway_without_rates_has_no_rate() -> None:
    raw = small_card()
    raw["rail"] = raw["rail"][:1]  # RWB missing
    with pytest.raises(PricingError, match="no rate for rail segment AZQQQ-AZRRR") as caught:
        price(parse_card(raw, "x.yaml", TOPOLOGY), TOPOLOGY, request("KZAAA", "AZRRR"))
    assert caught.value.code == "no_rate"


def test_a_port_without_handling_rates_has_no_rate() -> None:
    raw = small_card()
    raw["handling"] = raw["handling"][:1]
    with pytest.raises(PricingError, match="handling at port AZQQQ"):
        price(parse_card(raw, "x.yaml", TOPOLOGY), TOPOLOGY, request())


@pytest.mark.parametrize(
    ("unit", "kg"), [("20GP", "36000"), ("40HC", "36000"), ("45HC", "36000"), ("WAGON", "150000")]
)
def test_the_maximum_gross_mass_of_each_unit_can_be_quoted(unit: str, kg: str) -> None:
    assert quote(CardBook([card()]), TOPOLOGY, request(unit=unit, kg=kg)).total > 0
