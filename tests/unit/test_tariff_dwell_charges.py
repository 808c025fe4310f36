"""Storage surcharges, the dwells they are charged on, and the final charge of a delivered
shipment, against amounts computed by hand (the small card of tariff_card_samples).

The pricing of a quote: test_tariff_pricing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from services.tariff.rates import (
    Dwell,
    Movement,
    dwells,
    final_charge,
    parse_card,
    price,
    started_days,
    storage_surcharges,
)
from tests.unit.tariff_card_samples import TOPOLOGY, card, request, small_card

D = Decimal

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
