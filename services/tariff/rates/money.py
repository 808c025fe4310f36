"""Money: ``Decimal`` amounts, one rounding rule, and exact splitting.

The rounding rule of the whole service (docs/tariff.md, "Rounding"): every priced line
(a leg, a surcharge, the discount) is rounded once, ROUND_HALF_UP, to the minor unit of
the card's currency; totals are sums of rounded lines and are never rounded again. Rates
themselves may carry more decimals (a rate per km or per tonne-km needs them).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from math import floor

# ISO 4217 codes the cards may use, with their minor-unit exponents. A small known set
# is enough for the corridor (its states, its neighbours and the usual trade currencies);
# add a code here when a card needs it.
CURRENCIES: Mapping[str, int] = {
    "USD": 2,
    "EUR": 2,
    "CNY": 2,
    "KZT": 2,
    "AZN": 2,
    "GEL": 2,
    "TRY": 2,
    "RUB": 2,
    "CHF": 2,
    "GBP": 2,
    "RON": 2,
    "JPY": 0,
    "KWD": 3,
}

ROUNDING = ROUND_HALF_UP
ZERO = Decimal(0)


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of ``currency``: ``Decimal("0.01")`` for USD."""
    return Decimal(1).scaleb(-CURRENCIES[currency])


def round_money(amount: Decimal, currency: str) -> Decimal:
    """The one rounding rule: half up, to the currency's minor unit."""
    return amount.quantize(minor_unit(currency), rounding=ROUNDING)


def allocate(amount: Decimal, weights: Mapping[str, Decimal], currency: str) -> dict[str, Decimal]:
    """Split ``amount`` (already rounded, not negative) in proportion to ``weights`` by the
    largest-remainder method, so the parts are whole minor units and sum to ``amount``
    exactly. Leftover units go to the largest fractional remainders; ties go to the key
    that sorts first, so the split is deterministic."""
    unit = minor_unit(currency)
    if amount < 0:
        raise ValueError("cannot allocate a negative amount")
    if amount != round_money(amount, currency):
        raise ValueError(f"{amount} is not a whole number of {currency} minor units")
    if any(w < 0 for w in weights.values()):
        raise ValueError("weights must not be negative")
    total_weight = sum(weights.values(), ZERO)
    if amount == 0:
        return dict.fromkeys(weights, ZERO * unit)
    if total_weight == 0:
        raise ValueError("cannot allocate over zero weights")
    units = int(amount / unit)
    exact = {
        key: Fraction(units) * Fraction(weight) / Fraction(total_weight)
        for key, weight in weights.items()
    }
    parts = {key: floor(share) for key, share in exact.items()}
    leftover = units - sum(parts.values())
    by_remainder = sorted(exact, key=lambda key: (-(exact[key] - parts[key]), key))
    for key in by_remainder[:leftover]:
        parts[key] += 1
    return {key: Decimal(count) * unit for key, count in parts.items()}
