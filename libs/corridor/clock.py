"""The one wall clock of the tree.

Every component that needs "now" takes an injectable ``clock`` parameter whose default is
:func:`utcnow`, so tests pass a fixed or stepping clock instead of patching time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""A zero-argument callable returning a timezone-aware UTC ``datetime``."""


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


__all__ = ["Clock", "utcnow"]
