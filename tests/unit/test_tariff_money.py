"""The rounding rule and the largest-remainder split, by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.tariff.rates import allocate, round_money

D = Decimal


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("2.675", "USD", "2.68"),  # half a cent rounds up (bankers' rounding would give 2.68 too)
        ("2.665", "USD", "2.67"),  # ... and here bankers' rounding would give 2.66
        ("0.005", "USD", "0.01"),
        ("0.0049", "USD", "0.00"),
        ("1234", "USD", "1234.00"),
        ("100.5", "JPY", "101"),  # no minor unit
        ("1.0005", "KWD", "1.001"),  # three decimals
    ],
)
def test_amounts_round_half_up_to_the_minor_unit(amount: str, currency: str, expected: str) -> None:
    assert str(round_money(D(amount), currency)) == expected


def test_an_even_split_gives_the_leftover_cent_to_the_first_key() -> None:
    parts = allocate(D("10.00"), {"b": D(1), "a": D(1), "c": D(1)}, "USD")
    assert parts == {"a": D("3.34"), "b": D("3.33"), "c": D("3.33")}


def test_the_leftover_cent_goes_to_the_largest_remainder() -> None:
    # 5 cents over 1:3 -> exact 1.25 and 3.75 cents: floors 1 + 3, the leftover to y (.75)
    assert allocate(D("0.05"), {"x": D(1), "y": D(3)}, "USD") == {"x": D("0.01"), "y": D("0.04")}


def test_a_split_is_exact_when_the_shares_are_whole_cents() -> None:
    parts = allocate(D("100.00"), {"a": D("300.00"), "b": D("100.00")}, "USD")
    assert parts == {"a": D("75.00"), "b": D("25.00")}


def test_nothing_to_split_gives_zeros() -> None:
    assert allocate(D("0.00"), {"a": D(0), "b": D(5)}, "USD") == {"a": D("0.00"), "b": D("0.00")}


@pytest.mark.parametrize(
    ("amount", "weights", "message"),
    [
        ("-1.00", {"a": D(1)}, "negative amount"),
        ("1.005", {"a": D(1)}, "not a whole number"),
        ("1.00", {"a": D(0)}, "zero weights"),
        ("1.00", {"a": D(-1), "b": D(2)}, "weights must not be negative"),
    ],
)
def test_an_impossible_split_is_refused(
    amount: str, weights: dict[str, Decimal], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        allocate(D(amount), weights, "USD")
