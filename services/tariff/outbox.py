"""Publishing charges to cargo.charges.v1, crash-safe.

Each revision of a charge is committed to the database first (with ``published_at``
unset), then published; ``published_at`` is set only after the broker acknowledged. A
crash in between republishes the same record (same ``ce_id``) later: at-least-once, never
lost. Every revision has its own ``ce_id`` (``revision_event_id``) under the same
``charge_id``, so consumers that deduplicate on ``ce_id`` see each revision once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from corridor.clock import Clock, utcnow
from corridor.kafka import CE_TYPE_CHARGE, Publisher, cloudevent_record
from services.tariff.contracts import encode_charge
from services.tariff.ports import UnitsOfWork

log = logging.getLogger(__name__)

SOURCE = "/corridor/tariff"
RECENT = 10_000


class Publishable(Protocol):
    """A stored revision (``ports.StoredCharge``) or one just committed (``bills.Bill``)."""

    @property
    def charge_id(self) -> str: ...
    @property
    def revision(self) -> int: ...
    @property
    def shipment_id(self) -> str: ...
    @property
    def document(self) -> dict[str, Any]: ...
    @property
    def computed_at(self) -> datetime: ...


def revision_event_id(charge_id: str, revision: int) -> str:
    """The CloudEvent id of a revision: the charge id for the first (as published before
    revisions existed, so a charge flagged then is not seen anew), ``<charge_id>:<n>`` for
    the n-th."""
    return charge_id if revision == 1 else f"{charge_id}:{revision}"


class Outbox:
    def __init__(
        self,
        units: UnitsOfWork,
        publisher: Publisher,
        topic: str,
        clock: Clock = utcnow,
        batch: int = 100,
    ) -> None:
        self.units = units
        self.publisher = publisher
        self.topic = topic
        self.clock = clock
        self.batch = batch
        self._lock = asyncio.Lock()
        # What this process had acknowledged lately: a revision the outbox task published
        # between its commit and the consumer's ``publish`` is not published again.
        self._acked: deque[tuple[str, int]] = deque(maxlen=RECENT)
        self._acked_set: set[tuple[str, int]] = set()

    async def flush(self) -> int:
        """Publish every unpublished revision; returns how many were acknowledged. Stops
        at the first batch the broker does not fully acknowledge (retried later)."""
        published = 0
        async with self._lock:
            while True:
                async with self.units() as uow:
                    rows = await uow.repository.unpublished(self.batch)
                if not rows:
                    return published
                acked = await self._publish(rows)
                published += acked
                if acked < len(rows) or len(rows) < self.batch:
                    return published  # a failure (retried later), or that was all

    async def publish(self, revisions: Sequence[Publishable]) -> int:
        """Publish revisions the caller has just committed (no read: the consumer's path).
        One the outbox task published meanwhile goes again under its ``ce_id``."""
        async with self._lock:
            fresh = [r for r in revisions if (r.charge_id, r.revision) not in self._acked_set]
            return await self._publish(fresh) if fresh else 0

    async def _publish(self, rows: Sequence[Publishable]) -> int:
        records = [
            cloudevent_record(
                self.topic,
                row.shipment_id,
                encode_charge(row.document),
                ce_id=revision_event_id(row.charge_id, row.revision),
                ce_type=CE_TYPE_CHARGE,
                source=SOURCE,
                ce_time=row.computed_at,
            )
            for row in rows
        ]
        results = await self.publisher.publish_many(records)
        acked = [
            (row.charge_id, row.revision)
            for row, error in zip(rows, results, strict=True)
            if not error
        ]
        if acked:
            async with self.units() as uow:
                await uow.repository.mark_published(acked, self.clock())
                await uow.commit()
            for key in acked:
                if len(self._acked) == RECENT:
                    self._acked_set.discard(self._acked[0])
                self._acked.append(key)
                self._acked_set.add(key)
        if len(acked) < len(rows):
            failure = next(e for e in results if e is not None)
            log.warning("charges not published yet; will retry", extra={"error": str(failure)})
        return len(acked)

    async def run(self, stop: asyncio.Event, interval: float) -> None:
        """Retry unpublished charges every ``interval`` seconds until ``stop``."""
        while not stop.is_set():
            try:
                await self.flush()
            except Exception:
                log.exception("outbox flush failed; will retry")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
