"""Every pricing rule against amounts computed by hand (the small card of
test_tariff_cards: round rates on a five-node line)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from services.tariff.rates import (
    CardBook,
    Dwell,
    Movement,
    PricingError,
    QuoteRequest,
    RateCard,
    dwells,
    final_charge,
    parse_card,
    price,
    quote,
    started_days,
    storage_surcharges,
)
from tests.unit.test_tariff_cards import small_card, small_topology

D = Decimal
DAY = date(2026, 6, 1)
TOPOLOGY = small_topology()


def card(**top: object) -> RateCard:
    return parse_card(small_card(**top), "small.yaml", TOPOLOGY)


def request(
    origin: str = "KZAAA",
    destination: str = "AZQQQ",
    unit: str = "40HC",
    kg: str = "24000",
    on: date = DAY,
) -> QuoteRequest:
    return QuoteRequest(origin, destination, unit, D(kg), on)


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


T0 = datetime(2026, 6, 1, tzinfo=UTC)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def test_started_days_count_any_started_day_as_one() -> None:
    assert [started_days(s) for s in (0, 1, 86_400, 86_401, 3 * 86_400, -5)] == [0, 1, 1, 2, 3, 0]


def test_storage_is_charged_per_started_day_beyond_the_free_days() -> None:
    observed = [
        Dwell("KZBBB", at(0), at(2)),  # border, 2 free days: exactly 2 days -> nothing
        Dwell("KZPPP", at(3), at(7.25)),  # port, 3 free: 4 d 6 h = 5 started -> 2 days
        Dwell("AZQQQ", at(8), at(14)),  # port with 5 free days (override): 6 -> 1 day
        Dwell("AZRRR", at(15), at(30)),  # a hub: storage is not charged there
    ]
    lines = storage_surcharges(card(), TOPOLOGY, observed, "40HC", D(24000))
    assert [(s.node, s.operator, s.days, str(s.amount)) for s in lines] == [
        ("KZPPP", "PORTX", 2, "40.00"),  # 2 x 20.00
        ("AZQQQ", "PORTY", 1, "20.00"),
    ]


def test_storage_of_a_wagon_load_is_per_tonne_per_day() -> None:
    # 24.25 t x 0.50 x 2 days = 24.25
    lines = storage_surcharges(
        card(), TOPOLOGY, [Dwell("KZPPP", at(0), at(4.5))], "WAGON", D(24250)
    )
    assert [(s.days, str(s.amount)) for s in lines] == [(2, "24.25")]


def test_a_per_node_storage_rate_overrides_the_card_rate() -> None:
    raw = small_card()
    raw["surcharges"]["storage"]["nodes"]["KZPPP"] = {"per_day": {**raw["rail"][0]["per_km"]}}
    raw["surcharges"]["storage"]["nodes"]["KZPPP"]["per_day"]["40HC"] = "33.00"
    lines = storage_surcharges(
        parse_card(raw, "x.yaml", TOPOLOGY), TOPOLOGY, [Dwell("KZPPP", at(0), at(4))], "40HC", D(1)
    )
    assert [(s.days, str(s.amount)) for s in lines] == [(1, "33.00")]  # 4 - 3 free


def test_dwell_follows_the_corridors_one_rule_whatever_the_order_received() -> None:
    """corridor.movements: ARRIVED opens a stay at a border or port, leaving closes it, an
    event at another node drops a stay never left, and nothing after DELIVERED counts."""
    movements = [
        Movement("DEPARTED", "KZPPP", at(5), "c", "5"),
        Movement("ARRIVED", "KZPPP", at(1), "c", "2"),
        Movement("ARRIVED", "KZPPP", at(1.5), "c", "3"),  # while there: the stay goes on
        Movement("DEPARTED", "KZPPP", at(6), "c", "6"),  # no stay open: nothing
        Movement("DEPARTED", "KZBBB", at(0.5), "c", "1"),  # before any arrival there
        Movement("ARRIVED", "AZQQQ", at(7), "c", "7"),
        Movement("LOADED", "AZRRR", at(8), "c", "8"),  # elsewhere: AZQQQ's stay is dropped
        Movement("DEPARTED", "AZQQQ", at(8.5), "c", "9"),
        Movement("DELIVERED", "AZRRR", at(11), "c", "11"),
        Movement("ARRIVED", "KZBBB", at(12), "c", "12"),  # after the delivery: ignored
        Movement("DEPARTED", "KZBBB", at(20), "c", "13"),
    ]
    expected = [Dwell("KZPPP", at(1), at(5))]
    assert dwells(movements, TOPOLOGY, "KZAAA") == expected
    assert dwells(reversed(movements), TOPOLOGY, "KZAAA") == expected


def test_events_at_the_same_instant_line_up_along_the_route() -> None:
    # Leaving KZPPP and arriving at AZQQQ reported at one instant: the departure is first,
    # so the stay at KZPPP is closed and one at AZQQQ opened, whatever the ids say.
    movements = [
        Movement("ARRIVED", "KZPPP", at(1), "c", "z"),
        Movement("ARRIVED", "AZQQQ", at(4), "c", "a"),
        Movement("DEPARTED", "KZPPP", at(4), "c", "b"),
        Movement("DEPARTED", "AZQQQ", at(6), "c", "c"),
    ]
    assert dwells(movements, TOPOLOGY, "KZAAA") == [
        Dwell("KZPPP", at(1), at(4)),
        Dwell("AZQQQ", at(4), at(6)),
    ]


def test_the_final_charge_is_the_booked_quote_plus_storage_to_the_node_operator() -> None:
    booked = price(card(), TOPOLOGY, request("KZAAA", "AZRRR", kg="28250"))
    # legs 2500.55, overweight 70.00, discount 250.06 -> quoted 2320.49
    assert booked.total == D("2320.49")
    charge = final_charge(
        booked,
        card(),
        TOPOLOGY,
        [Dwell("KZPPP", at(0), at(6))],  # 6 days - 3 free = 3 x 20.00
        charge_id="c-1",
        shipment_id="S-1",
        booked_at=at(-1),
        delivered_at=at(9),
        computed_at=at(9),
    )
    assert [(s.kind, s.operator, str(s.amount)) for s in charge.surcharges] == [
        ("overweight", "JV", "70.00"),
        ("storage", "PORTX", "60.00"),
    ]
    assert charge.total == D("2380.49")
    shares = {s.operator: str(s.amount) for s in charge.apportionment}
    assert shares == {
        "RWA": "661.50",
        "PORTX": "195.00",  # 135.00 after discount + 60.00 storage
        "SHIP": "900.00",
        "PORTY": "144.00",
        "RWB": "409.99",
        "JV": "70.00",
    }


@pytest.mark.parametrize(
    ("unit", "kg"), [("20GP", "36000"), ("40HC", "36000"), ("45HC", "36000"), ("WAGON", "150000")]
)
def test_the_maximum_gross_mass_of_each_unit_can_be_quoted(unit: str, kg: str) -> None:
    assert quote(CardBook([card()]), TOPOLOGY, request(unit=unit, kg=kg)).total > 0
