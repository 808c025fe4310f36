"""How text columns travel to PostgreSQL: one joined string per column, split by the server."""

from __future__ import annotations

import pytest

from corridor.bulk import NULL, SEPARATOR, _joined


def split(joined: str) -> list[str | None]:
    """What ``(string_to_array(x, sep, null))[2:]`` gives the server."""
    return [None if part == NULL else part for part in joined.split(SEPARATOR)[1:]]


@pytest.mark.parametrize(
    "values",
    [["KZAKL", "", "AZBAK"], [""], [None], ["a", None, ""], ["Ünïcode ✓", "x" * 500]],
)
def test_a_column_survives_being_joined_and_split(values: list[str | None]) -> None:
    assert split(_joined(values)) == values


@pytest.mark.parametrize("bad", [["a\x1fb"], ["\x1e"], [None, "x\x1ey"]])
def test_a_value_holding_a_separator_is_refused(bad: list[str | None]) -> None:
    with pytest.raises(ValueError, match="separator"):
        _joined(bad)
