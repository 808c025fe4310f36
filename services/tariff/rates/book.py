"""The set of loaded rate cards: which one is in force on a date, which are upcoming."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from corridor.topology import Topology
from services.tariff.rates.card import RateCard
from services.tariff.rates.parse import CardError, parse_card


@dataclass(frozen=True)
class Listed:
    card: RateCard
    status: str  # "in_force" or "upcoming"


class CardBook:
    """Validated together: versions are unique and validity periods never overlap, so at
    most one card is in force on any date."""

    def __init__(self, cards: Iterable[RateCard]) -> None:
        self.cards: tuple[RateCard, ...] = tuple(sorted(cards, key=lambda c: c.valid_from))
        seen: dict[str, RateCard] = {}
        for card in self.cards:
            if card.version in seen:
                other = seen[card.version]
                raise CardError(card.source, "version", f"{card.version} also in {other.source}")
            seen[card.version] = card
        for earlier, later in zip(self.cards, self.cards[1:], strict=False):
            if earlier.overlaps(later):
                raise CardError(
                    later.source,
                    "valid_from",
                    f"validity overlaps {earlier.source} (version {earlier.version}, "
                    f"valid {_period(earlier)}); cards must not overlap",
                )

    def in_force(self, on: date) -> RateCard | None:
        return next((card for card in self.cards if card.in_force(on)), None)

    def version(self, version: str) -> RateCard | None:
        return next((card for card in self.cards if card.version == version), None)

    def listing(self, today: date) -> list[Listed]:
        """The card in force today and every upcoming one, by start date."""
        result = []
        for card in self.cards:
            if card.in_force(today):
                result.append(Listed(card, "in_force"))
            elif card.valid_from > today:
                result.append(Listed(card, "upcoming"))
        return result


def _period(card: RateCard) -> str:
    end = card.valid_to.isoformat() if card.valid_to else "open-ended"
    return f"{card.valid_from.isoformat()} to {end}"


def load_card_book(directory: Path, topology: Topology) -> CardBook:
    """Every ``*.yaml`` file of ``directory``, validated; raises ``CardError`` on the first
    invalid card, or when there is none."""
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise CardError(str(directory), "(directory)", "no rate cards (*.yaml) found")
    cards = []
    for path in files:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise CardError(path.name, "(file)", f"not valid YAML: {exc}") from exc
        cards.append(parse_card(raw, path.name, topology))
    return CardBook(cards)
