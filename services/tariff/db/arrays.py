"""Multi-row ``INSERT ... ON CONFLICT DO NOTHING`` on PostgreSQL as one set of arrays.

The rows travel as one array per column (``INSERT ... SELECT * FROM unnest(:a, :b, ...)``),
bound once: the driver encodes each array in one go, where a multi-row ``VALUES`` makes
SQLAlchemy process every value of every row (the tracker's writes do the same,
``services/tracker/db/bulk.py``). SQLite takes the rows as a multi-row ``VALUES``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Integer, String, Table, TextClause, text

from corridor.db import UtcDateTime

_TYPES: tuple[tuple[type[Any], str], ...] = (
    (UtcDateTime, "timestamptz"),
    (JSON, "json"),
    (Integer, "bigint"),
    (String, "text"),
)


def _kind(table: Table, name: str) -> str:
    column_type = table.c[name].type
    for kind, pg in _TYPES:
        if isinstance(column_type, kind):
            return pg
    raise TypeError(f"no array type for {table.name}.{name}")


@lru_cache(maxsize=64)
def statement(
    table: Table, names: tuple[str, ...], keys: tuple[str, ...], returning: tuple[str, ...]
) -> TextClause:
    arrays = []
    for name in names:
        kind = _kind(table, name)
        # JSON travels as text (the driver would otherwise re-encode every document).
        arrays.append(
            f"CAST(CAST(:{name} AS text[]) AS json[])"
            if kind == "json"
            else f"CAST(:{name} AS {kind}[])"
        )
    quoted = ", ".join(f'"{n}"' for n in names)
    sql = (
        f"INSERT INTO {table.name} ({quoted}) SELECT * FROM unnest({', '.join(arrays)}) "
        f"ON CONFLICT ({', '.join(keys)}) DO NOTHING"
    )
    if returning:
        sql += " RETURNING " + ", ".join(returning)
    return text(sql)


def parameters(table: Table, rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """One list per column; JSON documents serialised, times as they are (aware)."""
    columns: dict[str, list[Any]] = {}
    for name in rows[0]:
        values = [row[name] for row in rows]
        if _kind(table, name) == "json":
            values = [None if v is None else json.dumps(v, separators=(",", ":")) for v in values]
        columns[name] = values
    return columns
