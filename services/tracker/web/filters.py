"""How the pages write times and durations (Jinja2 filters)."""

from __future__ import annotations

from datetime import UTC, datetime

from jinja2 import Environment

HOUR = 3600.0
# Country sections as people name them; XC and XB are the sea crossings.
SECTIONS = {
    "CN": "China",
    "KZ": "Kazakhstan",
    "XC": "Caspian Sea crossing",
    "AZ": "Azerbaijan",
    "GE": "Georgia",
    "TR": "Türkiye",
    "XB": "Black Sea crossing",
    "RO": "Romania",
}


def section(code: str) -> str:
    return SECTIONS.get(code, code)


def duration(seconds: float | int | None) -> str:
    """``4.3 h`` under two days, ``3.5 d`` from two days; ``—`` when unknown."""
    if seconds is None:
        return "—"
    hours = float(seconds) / HOUR
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} d"


def hours(value: float | None) -> str:
    return "—" if value is None else duration(value * HOUR)


def when(value: datetime | str | None) -> str:
    """A moment in UTC, to the minute."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def when_ms(value: int) -> str:
    return when(datetime.fromtimestamp(value / 1000, UTC))


def count(value: float | int) -> str:
    """Thousands with a thin space, whole numbers without decimals."""
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", "\u202f")
    return f"{value:,.1f}".replace(",", "\u202f")


def register(env: Environment) -> None:
    env.filters["duration"] = duration
    env.filters["hours"] = hours
    env.filters["when"] = when
    env.filters["when_ms"] = when_ms
    env.filters["count"] = count
    env.filters["section"] = section
