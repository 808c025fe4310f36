"""Driver errors become the tariff's own at the adapter (``services.tariff.db.errors``):
the use cases never look at a SQLSTATE."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from services.tariff.db.errors import translated
from services.tariff.ports import (
    ConcurrentRevision,
    StorageError,
    StorageRefused,
    StorageUnavailable,
)


class DriverError(Exception):
    """What asyncpg's DB-API adapter raises: a message and a SQLSTATE."""

    def __init__(self, message: str, sqlstate: str | None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def wrapped(kind: type[DBAPIError], message: str, sqlstate: str | None = None) -> DBAPIError:
    return kind("INSERT INTO tariff_movements ...", {}, DriverError(message, sqlstate))


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (wrapped(IntegrityError, "NOT NULL constraint failed"), StorageRefused),  # SQLite
        (
            wrapped(DataError, "value too long for type character varying(16)", "22001"),
            StorageRefused,
        ),
        (wrapped(DBAPIError, "invalid byte sequence for encoding UTF8", "22021"), StorageRefused),
        (wrapped(DBAPIError, "duplicate key value", "23505"), StorageRefused),
        (wrapped(DBAPIError, "could not serialize access", "40001"), ConcurrentRevision),
        (wrapped(DBAPIError, "deadlock detected", "40P01"), ConcurrentRevision),
        (wrapped(OperationalError, "database is locked"), StorageUnavailable),  # SQLite
        (wrapped(OperationalError, "terminating connection", "57P01"), StorageUnavailable),
        (wrapped(DBAPIError, "connection does not exist", "08003"), StorageUnavailable),
        (PoolTimeout("QueuePool limit reached"), StorageUnavailable),
        (ConnectionRefusedError(111, "Connect call failed"), StorageUnavailable),
    ],
)
def test_a_driver_error_leaves_the_adapter_as_the_tariffs_own(
    error: Exception, expected: type[StorageError]
) -> None:
    with pytest.raises(expected) as raised, translated():
        raise error
    assert raised.type is expected
    assert raised.value.__cause__ is error


def test_the_sqlstate_and_the_drivers_message_are_kept_in_the_reason() -> None:
    error = wrapped(DataError, "value too long for type character varying(16)", "22001")
    with pytest.raises(StorageRefused, match=r"SQLSTATE 22001: value too long"), translated():
        raise error


def test_an_error_that_is_not_the_drivers_passes_unchanged() -> None:
    with pytest.raises(KeyError), translated():
        raise KeyError("a bug, not the database")
