"""Rate cards: the shipped examples load and price every demo route; the small card is
valid; a card book refuses overlapping validities and names the broken file of a directory.

Every invalid field of a card: test_tariff_card_fields. The small topology and card:
tariff_card_samples.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from corridor.journeys import DESTINATIONS, ORIGINS
from corridor.topology import load_topology
from services.tariff.rates import UNITS, CardBook, CardError, load_card_book, parse_card
from services.tariff.settings import SHIPPED_CARDS
from tests.unit.tariff_card_samples import small_card, small_topology


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
