"""The tariff's storage on SQLAlchemy: tables (``tables``), the set-based repository
(``repository``) and the unit of work (``unit_of_work``) that implement
``services.tariff.ports``, with driver errors translated in one place (``errors``)."""

from services.tariff.db.repository import SqlRepository
from services.tariff.db.tables import (
    MIGRATIONS,
    Base,
    BookingClaimRow,
    ChargeRow,
    MovementRow,
    SeenEventRow,
)
from services.tariff.db.unit_of_work import SqlUnitOfWork, sql_units

__all__ = [
    "MIGRATIONS",
    "Base",
    "BookingClaimRow",
    "ChargeRow",
    "MovementRow",
    "SeenEventRow",
    "SqlRepository",
    "SqlUnitOfWork",
    "sql_units",
]
