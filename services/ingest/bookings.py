"""What ingest knows of shipments, kept cheap for the hot path.

Bookings are cached in this process for a short while (``ttl``; an unknown shipment for
``miss_ttl``), so that most events need no database round trip while another replica's
booking or amendment is still seen within seconds. The cache is bounded (oldest entries go
first) and forgets a shipment as soon as this process records a booking for it. What the
cache misses, and every ledger claim and booking write, goes to the database coalesced:
one statement for all the requests of one event-loop turn.

A stale cache never lets a forbidden event through for good: the tracker and the tariff
judge every event again with the same rules (``corridor.parties``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

from services.ingest.batching import Coalescer
from services.ingest.db import BookingRecord, LedgerEntry
from services.ingest.trust import KnownBooking


class Store(Protocol):
    async def ping(self) -> bool: ...
    async def bookings(self, shipment_ids: list[str]) -> list[KnownBooking | None]: ...
    async def claim(self, entries: list[LedgerEntry]) -> list[bool]: ...
    async def record_bookings(self, records: list[BookingRecord]) -> list[None]: ...


class StoreUnavailable(Exception):
    """The database did not answer: the request may be retried as it is."""


class Shipments:
    def __init__(
        self,
        store: Store,
        *,
        ttl: float = 2.0,
        miss_ttl: float = 0.5,
        size: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.ttl = ttl
        self.miss_ttl = miss_ttl
        self.size = size
        self.clock = clock
        self._cache: dict[str, tuple[float, KnownBooking | None]] = {}  # id -> (until, it)
        self._lookup = Coalescer(store.bookings)
        self._claim = Coalescer(store.claim)
        self._record = Coalescer(store.record_bookings)

    async def bookings(self, shipment_ids: Sequence[str]) -> dict[str, KnownBooking | None]:
        now = self.clock()
        found: dict[str, KnownBooking | None] = {}
        missing: list[str] = []
        for sid in shipment_ids:
            cached = self._cache.get(sid)
            if cached is not None and cached[0] > now:
                found[sid] = cached[1]
            elif sid not in found:
                found[sid] = None
                missing.append(sid)
        if missing:
            try:
                loaded = await self._lookup(missing)
            except Exception as exc:
                raise StoreUnavailable(repr(exc)) from exc
            now = self.clock()
            for sid, booking in zip(missing, loaded, strict=True):
                found[sid] = booking
                self._remember(sid, booking, now)
        return found

    async def claim(self, entries: Sequence[LedgerEntry]) -> list[bool]:
        try:
            return await self._claim(entries)
        except Exception as exc:
            raise StoreUnavailable(repr(exc)) from exc

    async def record(self, records: Sequence[BookingRecord]) -> None:
        for record in records:
            self._cache.pop(record.shipment_id, None)
        try:
            await self._record(records)
        except Exception as exc:
            raise StoreUnavailable(repr(exc)) from exc
        finally:
            for record in records:  # whatever a look-up cached meanwhile is outdated
                self._cache.pop(record.shipment_id, None)

    def _remember(self, sid: str, booking: KnownBooking | None, now: float) -> None:
        ttl = self.ttl if booking is not None else self.miss_ttl
        if ttl <= 0:
            return
        self._cache.pop(sid, None)
        if len(self._cache) >= self.size:
            for old in list(self._cache)[: max(1, self.size // 10)]:
                del self._cache[old]
        self._cache[sid] = (now + ttl, booking)
