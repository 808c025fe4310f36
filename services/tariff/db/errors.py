"""Database errors as the tariff's own (``ports``): the one place that looks at
SQLSTATEs and driver exceptions, so the use cases never do.

- class 22 (data exception) and 23 (integrity constraint violation), and SQLAlchemy's
  ``DataError`` / ``IntegrityError`` (SQLite has no SQLSTATE): ``StorageRefused``;
- 40001 (serialization failure) and 40P01 (deadlock detected): ``ConcurrentRevision``,
  the work is applied again;
- anything else the driver or the pool raises (connection lost or refused, timeouts, an
  overloaded or read-only server, a locked SQLite file): ``StorageUnavailable``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from corridor.db import refuses_data, sqlstate
from services.tariff.ports import (
    ConcurrentRevision,
    StorageError,
    StorageRefused,
    StorageUnavailable,
)

CONCURRENT = ("40001", "40P01")
# What the driver and the pool raise (asyncpg's connection errors are ``OSError``s).
DRIVER_ERRORS = (DBAPIError, PoolTimeout, OSError)


def storage_error(exc: BaseException) -> StorageError:
    if isinstance(exc, DBAPIError):
        code = sqlstate(exc)
        summary = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else ""
        detail = f"SQLSTATE {code}: {summary}" if code else summary
        if refuses_data(exc):
            return StorageRefused(f"the database refuses the data ({detail})"[:1000])
        if code in CONCURRENT:
            return ConcurrentRevision(f"aborted for a concurrent transaction ({detail})")
        return StorageUnavailable(f"database error ({detail})"[:1000])
    return StorageUnavailable(f"database unreachable ({type(exc).__name__}: {exc})"[:1000])


@contextmanager
def translated() -> Iterator[None]:
    """Raise driver and pool errors as the tariff's ``StorageError``s (chained)."""
    try:
        yield
    except DRIVER_ERRORS as exc:
        raise storage_error(exc) from exc
