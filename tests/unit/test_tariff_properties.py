"""Properties: apportionment always sums to the total; a later card never changes an
earlier-dated quote; the same input always gives the same quote."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from corridor.topology import load_topology
from services.tariff.documents import quote_doc, quote_from_doc
from services.tariff.rates import (
    UNITS,
    CardBook,
    Dwell,
    QuoteRequest,
    allocate,
    final_charge,
    load_card_book,
    parse_card,
    price,
    quote,
)
from services.tariff.settings import SHIPPED_CARDS
from tests.unit.tariff_card_samples import small_card, small_topology

TOPOLOGY = small_topology()
NODES = sorted(TOPOLOGY.nodes)
REAL = load_topology()
SHIPPED = load_card_book(SHIPPED_CARDS, REAL)

rate = st.decimals(min_value=0, max_value=5000, places=3, allow_nan=False, allow_infinity=False)
weight = st.decimals(min_value="0.001", max_value=36_000, places=3)  # ISO 668 maximum
unit = st.sampled_from(UNITS)
pair = st.sampled_from([(a, b) for a in NODES for b in NODES if a != b])


@st.composite
def tables(draw: st.DrawFn) -> dict[str, str]:
    return {u: str(draw(rate)) for u in UNITS}


@st.composite
def random_cards(draw: st.DrawFn, /, **top: Any) -> dict[str, Any]:
    """The small card with every rate drawn at random, and a random discount."""
    raw = small_card(**top)
    raw["rail"][0]["per_km"] = draw(tables())
    raw["rail"][0]["segments"][0]["rates"] = draw(tables())
    raw["rail"][1]["segments"][0]["rates"] = draw(tables())
    raw["ferry"][0]["rates"] = draw(tables())
    for handling in raw["handling"]:
        handling["rates"] = draw(tables())
    raw["surcharges"]["storage"]["per_day"] = draw(tables())
    raw["surcharges"]["overweight"]["per_tonne"] = str(draw(rate))
    percent = draw(st.decimals(min_value="0.01", max_value=100, places=2))
    raw["discounts"][0]["percent"] = str(percent)
    raw["discounts"][1]["through_rate"] = draw(tables())
    return raw


T0 = datetime(2026, 6, 1, tzinfo=UTC)
dwell_lists = st.lists(
    st.tuples(st.sampled_from(NODES), st.floats(min_value=0, max_value=30 * 86_400)),
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(random_cards(), pair, unit, weight, dwell_lists)
def test_apportionment_always_sums_to_the_total(
    raw: dict[str, Any],
    od: tuple[str, str],
    container: str,
    kg: Decimal,
    stays: list[tuple[str, float]],
) -> None:
    card = parse_card(raw, "random.yaml", TOPOLOGY)
    q = price(card, TOPOLOGY, QuoteRequest(*od, container, kg, date(2026, 6, 1)))
    assert sum(s.amount for s in q.apportionment) == q.total
    assert all(line.amount == line.amount.quantize(Decimal("0.01")) for line in q.legs)
    assert all(s.amount >= 0 for s in q.apportionment)
    observed = [Dwell(node, T0, T0 + timedelta(seconds=s)) for node, s in stays]
    charge = final_charge(
        q,
        card,
        TOPOLOGY,
        observed,
        charge_id="c",
        shipment_id="s",
        booked_at=T0,
        delivered_at=T0,
        computed_at=T0,
    )
    assert sum(s.amount for s in charge.apportionment) == charge.total
    assert charge.total >= q.total


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(sorted(REAL.nodes)),
    st.sampled_from(sorted(REAL.nodes)),
    unit,
    weight,
)
def test_apportionment_sums_to_the_total_on_the_shipped_card(
    origin: str, destination: str, container: str, kg: Decimal
) -> None:
    if origin == destination:
        return
    q = quote(SHIPPED, REAL, QuoteRequest(origin, destination, container, kg, date(2026, 6, 1)))
    assert sum(s.amount for s in q.apportionment) == q.total


@settings(max_examples=200, deadline=None)
@given(
    random_cards(version="LATER"),
    st.dates(min_value=date(2026, 1, 2), max_value=date(2030, 1, 1)),
    st.data(),
    pair,
    unit,
    weight,
)
def test_a_card_that_starts_later_never_changes_an_earlier_quote(
    later_raw: dict[str, Any],
    starts: date,
    data: st.DataObject,
    od: tuple[str, str],
    container: str,
    kg: Decimal,
) -> None:
    current = parse_card(small_card(valid_to=starts), "current.yaml", TOPOLOGY)
    later_raw.update(
        valid_from=starts, valid_to=data.draw(st.sampled_from([None, date(2031, 1, 1)]))
    )
    later = parse_card(later_raw, "later.yaml", TOPOLOGY)
    on = data.draw(st.dates(min_value=date(2026, 1, 1), max_value=starts - timedelta(days=1)))
    request = QuoteRequest(*od, container, kg, on)
    before = quote(CardBook([current]), TOPOLOGY, request)
    assert quote(CardBook([current, later]), TOPOLOGY, request) == before


@settings(max_examples=200, deadline=None)
@given(random_cards(), pair, unit, weight)
def test_the_same_input_gives_the_same_quote(
    raw: dict[str, Any], od: tuple[str, str], container: str, kg: Decimal
) -> None:
    request = QuoteRequest(*od, container, kg, date(2026, 6, 1))
    first = price(parse_card(raw, "a.yaml", TOPOLOGY), TOPOLOGY, request)
    again = price(parse_card(raw, "a.yaml", TOPOLOGY), TOPOLOGY, request)
    assert again == first
    assert quote_doc(again) == quote_doc(first)
    assert quote_from_doc(quote_doc(first)) == first  # what is stored at BOOKED is the quote


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=0, max_value=10**9),
    st.dictionaries(
        st.text(min_size=1, max_size=3),
        st.decimals(min_value=0, max_value=10**6, places=2),
        min_size=1,
        max_size=8,
    ),
)
def test_a_split_sums_exactly_and_each_part_is_within_a_cent_of_its_share(
    cents: int, weights: dict[str, Decimal]
) -> None:
    total_weight = sum(weights.values())
    if total_weight == 0:
        return
    amount = Decimal(cents) / 100
    parts = allocate(amount, weights, "USD")
    assert sum(parts.values()) == amount
    for key, part in parts.items():
        assert abs(part - amount * weights[key] / total_weight) < Decimal("0.01")
