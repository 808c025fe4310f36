"""The committed states on their way to ``cargo.shipments.v1``: at least once.

States committed but not yet acknowledged by the broker wait here (the latest per
shipment) and are retried with every batch. Acknowledged versions (``marks``) are
recorded in the database (``published_version``) with the shipment's next change, or every
``MARK_EVERY_SECONDS``; on start-up every shipment whose recorded version is behind its
version is queued again (``recover``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

from services.tracker.domain import TrackedShipment

log = logging.getLogger(__name__)

StatePublish = Callable[[Sequence[TrackedShipment]], Awaitable[list[bool]]]
PUBLISH_CHUNK = 1000
MARK_EVERY_SECONDS = 5.0


class StateOutbox:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = clock
        self._pending: dict[str, TrackedShipment] = {}
        self._marks: dict[str, int] = {}
        self._marks_recorded = clock()

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def marks(self) -> dict[str, int]:
        """A copy of the acknowledged versions not recorded yet."""
        return dict(self._marks)

    def marks_due(self) -> bool:
        """Time to record every acknowledged version, changed shipment or not."""
        return self._monotonic() - self._marks_recorded >= MARK_EVERY_SECONDS

    def queue(self, shipment: TrackedShipment) -> None:
        self._pending[shipment.shipment_id] = shipment

    def requeue(self, found: Iterable[TrackedShipment]) -> None:
        """States a previous run may not have published (never replacing a later one)."""
        for shipment in found:
            known = self._pending.get(shipment.shipment_id)
            if known is None or known.version < shipment.version:
                self._pending[shipment.shipment_id] = shipment

    def recorded(self, marks: Mapping[str, int], everything: bool) -> None:
        """These acknowledged versions are now in the database (``everything``: all marks
        known at the time were written)."""
        if everything:
            self._marks_recorded = self._monotonic()
        for shipment_id, version in marks.items():
            if self._marks.get(shipment_id) == version:
                del self._marks[shipment_id]

    async def publish(self, publish: StatePublish) -> None:
        """Send what waits; what the broker acknowledges leaves and becomes a mark."""
        waiting = list(self._pending.values())
        for start in range(0, len(waiting), PUBLISH_CHUNK):
            chunk = waiting[start : start + PUBLISH_CHUNK]
            acknowledged = await publish(chunk)
            for shipment, ok in zip(chunk, acknowledged, strict=True):
                if not ok:
                    continue
                if self._pending.get(shipment.shipment_id) is shipment:
                    del self._pending[shipment.shipment_id]
                known = self._marks.get(shipment.shipment_id, 0)
                self._marks[shipment.shipment_id] = max(known, shipment.version)
            if len(acknowledged) and not all(acknowledged):
                log.warning("some shipment states were not acknowledged; they will be retried")
                return
