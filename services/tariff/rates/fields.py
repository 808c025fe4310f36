"""Reading the fields of a rate card: typed values out of parsed YAML, or a ``CardError``
naming the file and the dotted path of the field."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from corridor.topology import Topology
from services.tariff.rates.card import UNITS, UnitRates
from services.tariff.rates.money import CURRENCIES

CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")
TOP = "(card)"  # the path of the card itself


class CardError(ValueError):
    """An invalid rate card: the service must not start on it."""

    def __init__(self, source: str, field: str, message: str) -> None:
        super().__init__(f"rate card {source}: {field}: {message}")
        self.source = source
        self.field = field
        self.message = message


def join(path: str, key: str) -> str:
    return key if path == TOP else f"{path}.{key}"


class FieldReader:
    def __init__(self, source: str, topology: Topology) -> None:
        self.source = source
        self.topology = topology

    def fail(self, field: str, message: str) -> NoReturn:
        raise CardError(self.source, field, message)

    def mapping(
        self, raw: Any, path: str, allowed: set[str] | None, required: set[str]
    ) -> Mapping[str, Any]:
        """A mapping with only ``allowed`` keys (any when None) and every ``required`` one."""
        if not isinstance(raw, Mapping):
            self.fail(path, "must be a mapping")
        for key in raw:
            if not isinstance(key, str):
                self.fail(join(path, str(key)), "keys must be strings")
            if allowed is not None and key not in allowed:
                self.fail(join(path, key), f"unknown field (allowed: {', '.join(sorted(allowed))})")
        for key in sorted(required):
            if key not in raw:
                self.fail(join(path, key), "missing")
        return raw

    def sequence(self, raw: Any, path: str) -> list[Any]:
        if not isinstance(raw, list):
            self.fail(path, "must be a list")
        return raw

    def rates(self, raw: Any, path: str) -> UnitRates:
        """A rate table: exactly one amount per unit."""
        entry = self.mapping(raw, path, set(UNITS), set())
        for unit in UNITS:
            if unit not in entry:
                self.fail(
                    join(path, unit), f"missing: every unit ({', '.join(UNITS)}) needs a rate"
                )
        return {unit: self.amount(entry[unit], join(path, unit)) for unit in UNITS}

    def amount(self, raw: Any, path: str) -> Decimal:
        """A finite, non-negative decimal (a quoted string, or a YAML number)."""
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            self.fail(path, "must be a decimal number")
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            self.fail(path, f"{raw!r} is not a decimal number")
        if not value.is_finite():
            self.fail(path, "must be finite")
        if value < 0:
            self.fail(path, f"must not be negative (got {value})")
        return value

    def days(self, raw: Any, path: str) -> int:
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
            self.fail(path, "must be a whole number of days, 0 or more")
        return raw

    def date(self, raw: Any, path: str) -> date:
        if isinstance(raw, datetime):
            self.fail(path, "must be a date (YYYY-MM-DD), not a date-time")
        if isinstance(raw, date):
            return raw
        if isinstance(raw, str):
            try:
                return date.fromisoformat(raw)
            except ValueError:
                pass
        self.fail(path, f"{raw!r} is not a date (YYYY-MM-DD)")

    def currency(self, raw: Any) -> str:
        if not isinstance(raw, str) or not CURRENCY_CODE.match(raw):
            self.fail("currency", f"{raw!r} is not an ISO 4217 code (three capital letters)")
        if raw not in CURRENCIES:
            known = ", ".join(sorted(CURRENCIES))
            self.fail("currency", f"unknown currency {raw} (known: {known})")
        return raw

    def node(self, raw: Any, path: str) -> str:
        if not isinstance(raw, str) or raw not in self.topology.nodes:
            self.fail(path, f"unknown corridor node {raw!r}")
        return raw

    def operator(self, raw: Any, path: str) -> str:
        if not isinstance(raw, str) or raw not in self.topology.operators:
            self.fail(path, f"unknown operator {raw!r}")
        return raw

    def section(self, raw: Any, path: str) -> str:
        """A country section of the corridor (a country some node is in)."""
        sections = {node.country for node in self.topology.nodes.values()}
        if not isinstance(raw, str) or raw not in sections:
            self.fail(path, f"unknown section {raw!r} (known: {', '.join(sorted(sections))})")
        return raw
