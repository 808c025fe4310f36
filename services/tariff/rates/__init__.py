"""The tariff's rules, pure: rate cards, their validation, quotes, charges and money."""

from services.tariff.rates.book import CardBook, Listed, load_card_book
from services.tariff.rates.card import CONTAINER_TYPES, UNITS, WAGON, RateCard
from services.tariff.rates.charging import (
    Charge,
    final_charge,
    started_days,
    storage_surcharges,
)
from services.tariff.rates.dwell import Dwell, Movement, dwells
from services.tariff.rates.money import CURRENCIES, allocate, round_money
from services.tariff.rates.parse import CardError, parse_card
from services.tariff.rates.pricing import (
    HANDLING,
    Discount,
    Leg,
    PricingError,
    Quote,
    QuoteRequest,
    Share,
    Surcharge,
    price,
    quote,
    settle,
)

__all__ = [
    "CONTAINER_TYPES",
    "CURRENCIES",
    "HANDLING",
    "UNITS",
    "WAGON",
    "CardBook",
    "CardError",
    "Charge",
    "Discount",
    "Dwell",
    "Leg",
    "Listed",
    "Movement",
    "PricingError",
    "Quote",
    "QuoteRequest",
    "RateCard",
    "Share",
    "Surcharge",
    "allocate",
    "dwells",
    "final_charge",
    "load_card_book",
    "parse_card",
    "price",
    "quote",
    "round_money",
    "settle",
    "started_days",
    "storage_surcharges",
]
