"""The tariff's storage: tables (``tables``) and the set-based repository
(``repository``)."""

from services.tariff.db.repository import ConcurrentRevision, Repository
from services.tariff.db.tables import (
    MIGRATIONS,
    Base,
    BookingClaimRow,
    ChargeRow,
    MovementRow,
    SeenEventRow,
)

__all__ = [
    "MIGRATIONS",
    "Base",
    "BookingClaimRow",
    "ChargeRow",
    "ConcurrentRevision",
    "MovementRow",
    "Repository",
    "SeenEventRow",
]
